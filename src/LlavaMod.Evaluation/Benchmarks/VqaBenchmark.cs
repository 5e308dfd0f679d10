using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks;

public sealed record VqaMetrics(int Questions, double Accuracy, double StandardError);

/// <summary>
/// VQAv2 / TextVQA accuracy as the official evaluator (vqaEval.py) computes it: the answer is
/// normalised (<see cref="VqaAnswerNormaliser.Answer"/>); when the human answers disagree they get
/// the punctuation step too; then for each of the (usually ten) human answers, the answer scores
/// min(#matches among the other humans / 3, 1), and the question's accuracy is the average over
/// those leave-one-out subsets. References: <c>{"question_id", "answers": [ten strings]}</c>
/// (VQAv2's <c>{"answer": …}</c> objects are read too).
/// </summary>
public sealed class VqaBenchmark : IBenchmark
{
    const string Shape = "{\"question_id\": …, \"answers\": [ten strings]}";
    public string Name => "vqa";
    public string Description => "VQAv2/TextVQA accuracy, official normalisation and leave-one-out min(matches/3, 1) (--references)";

    public static double Accuracy(string answer, IReadOnlyList<string> humanAnswers)
    {
        string response = VqaAnswerNormaliser.Answer(answer);
        var humans = humanAnswers.Select(VqaAnswerNormaliser.Clean).ToList();
        if (humans.Distinct().Count() > 1) humans = humans.Select(VqaAnswerNormaliser.Punctuation).ToList();
        double sum = 0;
        for (int left = 0; left < humans.Count; left++)
        {
            int matches = humans.Where((h, i) => i != left && h == response).Count();
            sum += Math.Min(1.0, matches / 3.0);
        }
        return sum / humans.Count;
    }

    public ScoredBenchmark Score(BenchmarkInput input)
    {
        var references = ReferenceFile.Read(input.References, Name, Shape);
        var lines = new List<ScoredLine>();
        foreach (var answer in input.Answers)
        {
            var reference = ReferenceFile.For(references, input.References!, answer.QuestionId);
            var humans = HumanAnswers(reference);
            double accuracy = Accuracy(answer.Text, humans);
            lines.Add(new ScoredLine(answer.QuestionId, new Dictionary<string, double?> { ["accuracy"] = accuracy },
                new JsonObject { ["normalised"] = VqaAnswerNormaliser.Answer(answer.Text) }));
        }
        var estimate = Estimates.Mean(lines.Select(l => l.Scores["accuracy"]!.Value).ToList());
        return new ScoredBenchmark(Name, new VqaMetrics(lines.Count, estimate.Value, estimate.StandardError),
            [estimate.ToMetric("accuracy", "VQA accuracy", perAnswer: true)], lines);
    }

    static IReadOnlyList<string> HumanAnswers(JsonLine reference)
    {
        if (reference.Object["answers"] is not JsonArray array || array.Count == 0)
            throw reference.Error($"\"answers\" must be a non-empty list ({Shape})");
        return array.Select(a => a switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonObject o when o["answer"] is JsonValue v && v.TryGetValue<string>(out var s) => s,
            _ => throw reference.Error("each of \"answers\" must be a string or {\"answer\": string}"),
        }).ToList();
    }
}
