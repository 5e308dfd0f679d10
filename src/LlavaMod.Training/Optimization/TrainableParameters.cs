using LlavaMod.Core;
using TorchSharp;
using TorchSharp.Modules;

namespace LlavaMod.Training.Optimization;

/// <summary>The outcome of choosing what trains: the trainable parameters (by name) and counts.</summary>
public sealed record TrainableSelection(
    IReadOnlyList<(string Name, Parameter Parameter)> Trainable,
    IReadOnlyList<string> FrozenNames,
    long TrainableElements,
    long FrozenElements);

/// <summary>Marks parameters trainable (requires_grad) when their name matches a pattern and freezes the rest.</summary>
public static class TrainableParameters
{
    /// <summary>Applies <paramref name="patterns"/> to a module's own parameter names.</summary>
    public static TrainableSelection Select(torch.nn.Module module, ParameterPatterns patterns) =>
        Select(module.named_parameters().Select(p => (p.name, p.parameter)), patterns);

    /// <summary>
    /// Applies <paramref name="patterns"/> to named parameters (pass Hugging Face names when the
    /// module's own names differ). Every pattern must match at least one name, so a typo fails
    /// loudly instead of silently freezing what should train.
    /// </summary>
    public static TrainableSelection Select(IEnumerable<(string Name, Parameter Parameter)> named, ParameterPatterns patterns)
    {
        var all = named.ToList();
        var unmatched = patterns.Unmatched(all.Select(p => p.Name).ToArray());
        if (unmatched.Count > 0)
            throw new LlavaModException($"trainable-parameter pattern(s) {string.Join(", ", unmatched.Select(u => $"'{u}'"))} match no parameter of the model " +
                                        $"(names look like '{all.FirstOrDefault().Name}'). Check the spelling against the checkpoint's tensor names.");
        var trainable = new List<(string, Parameter)>();
        var frozen = new List<string>();
        long trainableElements = 0, frozenElements = 0;
        foreach (var (name, p) in all)
        {
            bool train = patterns.Matches(name);
            p.requires_grad = train;
            if (train) { trainable.Add((name, p)); trainableElements += p.numel(); }
            else { frozen.Add(name); frozenElements += p.numel(); }
        }
        return new TrainableSelection(trainable, frozen, trainableElements, frozenElements);
    }
}
