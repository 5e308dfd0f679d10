using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.IO;

/// <summary>Copies tensors from a safetensors folder into a module's state dict, by explicit name mapping.</summary>
public static class WeightLoading
{
    /// <summary>
    /// For every state-dict entry of <paramref name="module"/>, reads the first of
    /// <paramref name="fileNames"/>(entry) present in <paramref name="files"/>, checks its shape and
    /// copies it (converted to the parameter's dtype). Returns the file names used. Missing
    /// tensors and shape mismatches throw a <see cref="LlavaModException"/> naming file and tensor.
    /// </summary>
    public static HashSet<string> LoadInto(nn.Module module, SafeTensorsFolder files, Func<string, IReadOnlyList<string>> fileNames)
    {
        var used = new HashSet<string>();
        var missing = new List<string>();
        using var noGrad = torch.no_grad();
        foreach (var (name, target) in module.state_dict())
        {
            var candidates = fileNames(name);
            string? found = candidates.FirstOrDefault(files.Contains);
            if (found is null) { missing.Add(candidates[0]); continue; }
            long[] shape = files.ShapeOf(found);
            if (!shape.SequenceEqual(target.shape))
                throw LlavaModException.ForFile(files.FileOf(found),
                    $"tensor '{found}' has shape [{string.Join(", ", shape)}] but the model built from config.json expects [{string.Join(", ", target.shape)}]");
            using var source = files.Read(found);
            target.copy_(source.to(target.dtype).to(target.device));
            used.Add(found);
        }
        if (missing.Count > 0)
            throw LlavaModException.ForFile(files.Folder,
                $"missing tensor{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Take(8).Select(m => $"'{m}'"))}{(missing.Count > 8 ? $" and {missing.Count - 8} more" : "")} (config.json and the weights disagree)");
        return used;
    }

    /// <summary>Throws when the folder holds tensors nothing loaded (other than those <paramref name="ignorable"/> accepts).</summary>
    public static void RejectUnexpected(SafeTensorsFolder files, ISet<string> used, Func<string, bool> ignorable)
    {
        var unexpected = files.Names.Where(n => !used.Contains(n) && !ignorable(n)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw LlavaModException.ForFile(files.Folder,
                $"{unexpected.Count} tensor{(unexpected.Count > 1 ? "s" : "")} not used by the model built from config.json, e.g. {string.Join(", ", unexpected.Take(5).Select(u => $"'{u}'"))} (is the config's architecture, e.g. its moe block, right?)");
    }
}
