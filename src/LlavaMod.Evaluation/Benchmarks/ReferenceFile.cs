using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>A <c>--references</c> file: one JSON object a line (or a JSON array) keyed by question_id.</summary>
public static class ReferenceFile
{
    public static IReadOnlyDictionary<string, JsonLine> Read(string? path, string benchmark, string shape)
    {
        if (path is null) throw new LlavaModException($"--benchmark {benchmark} needs --references (one line per question: {shape})");
        var byId = new Dictionary<string, JsonLine>();
        foreach (var line in JsonLines.ReadLinesOrArray(path))
            if (!byId.TryAdd(line.RequiredId("question_id"), line)) throw line.Error($"question_id {line.RequiredId("question_id")} repeats");
        return byId;
    }

    public static JsonLine For(IReadOnlyDictionary<string, JsonLine> references, string path, string questionId) =>
        references.GetValueOrDefault(questionId) ?? throw LlavaModException.ForFile(path, $"no reference for question_id {questionId}");
}
