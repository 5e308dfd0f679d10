using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Scoring;
using LlavaMod.Teacher.Scoring;

namespace LlavaMod.Demo.Evaluation;

/// <summary>
/// The demo as a benchmark: answers to the synthetic scenes' held-out questions scored against
/// the split's ground truth (<c>--annotations</c> = the demo split folder with questions.jsonl and
/// scenes.jsonl) by the same reference scorer pair mining uses. Answer ids are the questions' ids
/// (the shard rows' ids when the answers come from <c>eval answer --data</c>).
/// </summary>
public sealed class DemoBenchmark : IBenchmark
{
    public string Name => "demo";
    public string Description => "the demo's synthetic scenes: short-answer accuracy, yes/no accuracy and F1, CHAIR, absent-partner rate, object recall (--annotations = demo split folder)";

    public ScoredBenchmark Score(BenchmarkInput input)
    {
        if (input.Annotations is null) throw new LlavaModException("--benchmark demo needs --annotations (the demo split folder: questions.jsonl + scenes.jsonl)");
        var truth = DemoGroundTruth.Load(input.Annotations);
        var answers = input.Answers.Select(a =>
        {
            var q = truth.Find(a.QuestionId) ?? throw LlavaModException.ForFile(input.AnswersPath, $"line {a.Line}: question_id {a.QuestionId} is not a question of {input.Annotations}");
            var score = DemoGroundTruth.Score(q, a.Text);
            bool? partner = q.Kind == DemoGroundTruth.DescribeKind && q.AbsentPartners.Count > 0
                ? score.HallucinatedMentions.Any(m => q.AbsentPartners.Contains(m.Object)) : null;
            return new ScoredAnswer(q.Id, q.Kind, q.Answer, a.Text, score.ExactMatch, score.Mentioned, score.Hallucinated, score.Missed, partner);
        }).ToList();
        return Scored(answers);
    }

    /// <summary>Scored answers summarised: the metrics, the headline summary and one side-file line per answer (the answer's score as its detail).</summary>
    public static ScoredBenchmark Scored(IReadOnlyList<ScoredAnswer> answers)
    {
        var result = Summarise(answers);
        var lines = answers.Select(a => new ScoredLine(a.Id, PerAnswer(a), JsonSerializer.SerializeToNode(a, Json.Options) as JsonObject)).ToList();
        return new ScoredBenchmark("demo", result, Summary(result), lines);
    }

    static bool IsShortAnswer(ScoredAnswer a) => a.Kind is not (DemoGroundTruth.DescribeKind or DemoGroundTruth.ExistenceKind);

    static double? Indicator(bool? value) => value is { } v ? (v ? 1 : 0) : null;

    /// <summary>The per-answer values behind the rates (null where a rate does not count the answer).</summary>
    static Dictionary<string, double?> PerAnswer(ScoredAnswer a) => new()
    {
        ["short_answer_accuracy"] = IsShortAnswer(a) ? Indicator(a.Correct == true) : null,
        ["yes_no_accuracy"] = a.Kind == DemoGroundTruth.ExistenceKind ? Indicator(a.Correct == true) : null,
        ["chair_s"] = a.Kind == DemoGroundTruth.DescribeKind ? Indicator(a.Hallucinated > 0) : null,
        ["absent_partner"] = Indicator(a.NamedAbsentPartner),
    };

    public static IReadOnlyList<Metric> Summary(EvaluationResult r)
    {
        static Metric M(Rate rate, string key, string label, bool lower = false, bool perAnswer = false) =>
            new(key, label, rate.Value, rate.Count == 0 ? null : rate.StandardError, rate.Count, MetricFormat.Estimate, lower, perAnswer);
        return
        [
            M(r.ShortAnswerAccuracy, "short_answer_accuracy", "short-answer accuracy", perAnswer: true),
            M(r.YesNoAccuracy, "yes_no_accuracy", "yes/no accuracy", perAnswer: true),
            new("yes_no_f1", "yes/no F1", r.YesNoF1, null, r.YesNoAccuracy.Count, MetricFormat.Number),
            M(r.ChairS, "chair_s", "CHAIR_s ↓", lower: true, perAnswer: true),
            M(r.ChairI, "chair_i", "CHAIR_i ↓", lower: true),
            M(r.PartnerHallucination ?? Rate.Of(0, 0), "absent_partner", "absent partner named ↓", lower: true, perAnswer: true),
            M(r.ObjectRecall, "object_recall", "object recall"),
        ];
    }

    public static EvaluationResult Summarise(IReadOnlyList<ScoredAnswer> answers)
    {
        var shortAnswers = answers.Where(IsShortAnswer).ToList();
        var yesNo = answers.Where(a => a.Kind == DemoGroundTruth.ExistenceKind).ToList();
        var describe = answers.Where(a => a.Kind == DemoGroundTruth.DescribeKind).ToList();
        int tp = yesNo.Count(a => a.Correct == true && ReferenceScorer.ParseYesNo(a.Reference) == true);
        int saidYes = yesNo.Count(a => ReferenceScorer.ParseYesNo(a.Answer) == true);
        int isYes = yesNo.Count(a => ReferenceScorer.ParseYesNo(a.Reference) == true);
        double f1 = saidYes + isYes == 0 ? double.NaN : 2.0 * tp / (saidYes + isYes);
        int mentioned = describe.Sum(a => a.Mentioned), hallucinated = describe.Sum(a => a.Hallucinated);
        int present = describe.Sum(a => a.Mentioned - a.Hallucinated + a.Missed), found = describe.Sum(a => a.Mentioned - a.Hallucinated);
        return new EvaluationResult(answers.Count,
            Rate.Of(shortAnswers.Count(a => a.Correct == true), shortAnswers.Count),
            Rate.Of(yesNo.Count(a => a.Correct == true), yesNo.Count), f1,
            Rate.Of(describe.Count(a => a.Hallucinated > 0), describe.Count),
            Rate.Of(hallucinated, mentioned),
            Rate.Of(found, present))
        {
            PartnerHallucination = Rate.Of(describe.Count(a => a.NamedAbsentPartner == true), describe.Count(a => a.NamedAbsentPartner is not null)),
        };
    }
}
