using LlavaMod.Core;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks;

public sealed record GqaMetrics(int Questions, double Accuracy, double StandardError);

/// <summary>
/// GQA exact match as LLaVA scores it: the answer trimmed, a trailing period dropped and lower-cased
/// must equal the reference answer lower-cased. References: <c>{"question_id", "answer"}</c> lines,
/// or an <c>answer</c> field on the questions.
/// </summary>
public sealed class GqaBenchmark : IBenchmark
{
    public string Name => "gqa";
    public string Description => "GQA exact match after trimming, a trailing period dropped and lower case (--references or answer on --questions)";

    public static string Normalise(string text) => text.Trim().TrimEnd('.').Trim().ToLowerInvariant();

    public ScoredBenchmark Score(BenchmarkInput input)
    {
        Func<BenchmarkAnswer, string> gold;
        if (input.References is not null)
        {
            var references = ReferenceFile.Read(input.References, Name, "{\"question_id\": …, \"answer\": string}");
            gold = a => ReferenceFile.For(references, input.References, a.QuestionId).RequiredString("answer");
        }
        else
        {
            var questions = AnsweredQuestions.Join(input, Name).ToDictionary(p => p.Answer.QuestionId, p => p.Question);
            gold = a => questions[a.QuestionId].Fields["answer"]?.GetValue<string>()
                ?? throw LlavaModException.ForFile(input.QuestionsPath!, $"line {questions[a.QuestionId].Line}: no \"answer\"; give --references");
        }
        var lines = input.Answers.Select(a => new ScoredLine(a.QuestionId,
            new Dictionary<string, double?> { ["accuracy"] = Normalise(a.Text) == Normalise(gold(a)) ? 1 : 0 })).ToList();
        var estimate = Estimates.Mean(lines.Select(l => l.Scores["accuracy"]!.Value).ToList());
        return new ScoredBenchmark(Name, new GqaMetrics(lines.Count, estimate.Value, estimate.StandardError),
            [estimate.ToMetric("accuracy", "GQA accuracy", perAnswer: true)], lines);
    }
}
