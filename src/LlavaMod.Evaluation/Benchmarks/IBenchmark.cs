using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>What <c>eval score</c> hands a benchmark: the answers, and whichever of questions,
/// annotations folder and references file the benchmark needs (it says which are missing).</summary>
public sealed record BenchmarkInput(string AnswersPath, IReadOnlyList<BenchmarkAnswer> Answers,
    string? QuestionsPath = null, IReadOnlyList<BenchmarkQuestion>? Questions = null,
    string? Annotations = null, string? References = null);

/// <summary>
/// A benchmark scores an answer file: a typed metrics record (written as the result's
/// <c>metrics</c>), the headline metrics a report prints, and one scored line per answer (the
/// side file). Product benchmarks live in this project; the demo implements it in its own.
/// </summary>
public interface IBenchmark
{
    /// <summary>The <c>--benchmark</c> name.</summary>
    string Name { get; }
    /// <summary>One line for <c>--help</c>: what it measures and which inputs it takes.</summary>
    string Description { get; }
    ScoredBenchmark Score(BenchmarkInput input);
}
