using System.Text.RegularExpressions;
using LlavaMod.Core;

namespace LlavaMod.Cli.Pipelines;

/// <summary>
/// A declarative pipeline file (pipelines/*.json): named parameters and an ordered list of steps,
/// each one llavamod verb with its arguments. "${name}" in an argument is replaced by the parameter's
/// value; "${pipeline_dir}" is the folder of the pipeline file.
/// </summary>
public sealed record PipelineDefinition
{
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public Dictionary<string, string> Parameters { get; init; } = new();
    /// <summary>Where the runner keeps its step records; a parameter reference, "${out}" by default.</summary>
    public string StateDir { get; init; } = "${out}";
    public List<PipelineStep> Steps { get; init; } = new();

    public static PipelineDefinition Load(string path)
    {
        var definition = ConfigJson.ReadFile<PipelineDefinition>(path);
        if (definition.Steps.Count == 0)
            throw LlavaModException.ForFile(path, "has no steps");
        var duplicate = definition.Steps.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw LlavaModException.ForFile(path, $"step name '{duplicate.Key}' is used twice");
        foreach (var step in definition.Steps)
            if (step.Args.Count == 0)
                throw LlavaModException.ForFile(path, $"step '{step.Name}' has no args (the llavamod verb and its options)");
        return definition;
    }
}

/// <summary>One step: a llavamod command line, e.g. ["shard", "--input", "${out}/raw/train.json"].</summary>
public sealed record PipelineStep
{
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public List<string> Args { get; init; } = new();
}

/// <summary>Substitutes "${name}" references; an unknown name is an error naming the pipeline file.</summary>
public static partial class PipelineParameters
{
    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Reference();

    public static string Resolve(string text, IReadOnlyDictionary<string, string> values, string source)
    {
        // Parameters may refer to other parameters: resolve until stable (bounded against cycles).
        for (int depth = 0; depth < 10; depth++)
        {
            string next = Reference().Replace(text, m =>
                values.TryGetValue(m.Groups[1].Value, out var v)
                    ? v
                    : throw LlavaModException.ForFile(source, $"unknown parameter '${{{m.Groups[1].Value}}}' (known: {string.Join(", ", values.Keys)})"));
            if (next == text) return next;
            text = next;
        }
        throw LlavaModException.ForFile(source, $"parameters refer to each other in a cycle: {text}");
    }
}
