using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>Where <c>eval score</c> reads and writes.</summary>
public sealed record ScoreRequest(string Benchmark, string Answers, string Out, string? Questions = null, string? Annotations = null, string? References = null);

/// <summary><c>eval score</c>: reads the files, lets the benchmark score them, writes the result and its side file.</summary>
public static class Scorer
{
    public static (ScoredResult Result, ScoredBenchmark Scored) Run(BenchmarkCatalog catalog, ScoreRequest request, AnsweringRun? run = null,
        Func<IReadOnlyList<BenchmarkQuestion>, IReadOnlyList<BenchmarkQuestion>>? questionFilter = null)
    {
        var benchmark = catalog.Get(request.Benchmark);
        var answers = AnswerFile.Read(request.Answers);
        var questions = request.Questions is null ? null : QuestionFile.Read(request.Questions);
        if (questions is not null && questionFilter is not null) questions = questionFilter(questions);
        var scored = benchmark.Score(new BenchmarkInput(request.Answers, answers, request.Questions, questions, request.Annotations, request.References));
        return (ScoredResultFile.Write(request.Out, scored, request.Answers, run), scored);
    }
}
