using System.Text.Json.Nodes;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>One answer as scored: its per-answer values by metric key (null where the metric does not
/// apply to it) and what the benchmark found (hallucinated objects, the parsed yes/no…).</summary>
public sealed record ScoredLine(string QuestionId, IReadOnlyDictionary<string, double?> Scores, JsonObject? Detail = null);

/// <summary>A benchmark's score of one answer file: the typed metrics, the headline metrics and the scored lines.</summary>
public sealed record ScoredBenchmark(string Benchmark, object Metrics, IReadOnlyList<Metric> Summary, IReadOnlyList<ScoredLine> Lines);
