using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>The model that answered, when the answers were produced by <c>eval run</c>: shown by reports.</summary>
public sealed record AnsweringRun(string Model, long ActiveLanguageParameters, double Seconds);

/// <summary>
/// A scored result as written to disk: <c>R.json</c> holds the benchmark name, the answer file,
/// the headline <see cref="Summary"/>, the benchmark's typed <see cref="Metrics"/> and, from
/// <c>eval run</c>, the answering run; the side file <c>R.scored.jsonl</c> holds one
/// <see cref="ScoredLine"/> per answer. Reports read any benchmark's result through this shape.
/// </summary>
public sealed record ScoredResult(string Benchmark, string Answers, int Questions, IReadOnlyList<Metric> Summary, JsonNode Metrics)
{
    public AnsweringRun? Run { get; init; }
}

public static class ScoredResultFile
{
    /// <summary>The result file name inside an <c>eval run</c> folder.</summary>
    public const string InFolder = "eval.json";

    /// <summary>R.json → R.scored.jsonl.</summary>
    public static string SidePath(string resultPath) => Path.ChangeExtension(resultPath, ".scored.jsonl");

    /// <summary>A result file, or the eval.json of a folder.</summary>
    public static string Resolve(string fileOrFolder) => Directory.Exists(fileOrFolder) ? Path.Combine(fileOrFolder, InFolder) : fileOrFolder;

    public static ScoredResult Write(string resultPath, ScoredBenchmark scored, string answersPath, AnsweringRun? run = null)
    {
        var result = new ScoredResult(scored.Benchmark, answersPath, scored.Lines.Count, scored.Summary,
            JsonSerializer.SerializeToNode(scored.Metrics, scored.Metrics.GetType(), Json.Options)!) { Run = run };
        var side = new StringBuilder();
        foreach (var line in scored.Lines) side.Append(JsonSerializer.Serialize(line, Json.Compact)).Append('\n');
        AtomicFile.WriteAllText(SidePath(resultPath), side.ToString());
        Json.WriteFileAtomic(resultPath, result);
        return result;
    }

    public static ScoredResult Read(string fileOrFolder)
    {
        string path = Resolve(fileOrFolder);
        var result = Json.ReadFile<ScoredResult>(path);
        if (string.IsNullOrEmpty(result.Benchmark) || result.Summary is null)
            throw LlavaModException.ForFile(path, "not a scored result (no \"benchmark\" and \"summary\"); write one with 'llavamod eval score' or 'eval run'");
        return result;
    }

    /// <summary>Per-answer values of one metric by question id (only answers where it is defined), or null without a side file.</summary>
    public static IReadOnlyDictionary<string, double>? PerAnswer(string fileOrFolder, string metricKey)
    {
        string side = SidePath(Resolve(fileOrFolder));
        if (!File.Exists(side)) return null;
        var values = new Dictionary<string, double>();
        long number = 0;
        foreach (var text in File.ReadLines(side))
        {
            number++;
            if (text.Length == 0) continue;
            var line = Json.Deserialize<ScoredLine>(text, $"{side}, line {number}");
            if (line.Scores.TryGetValue(metricKey, out var v) && v is { } value) values[line.QuestionId] = value;
        }
        return values;
    }
}
