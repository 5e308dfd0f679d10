using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Mining;
using LlavaMod.Teacher.Sampling;
using LlavaMod.Teacher.Scoring;

namespace LlavaMod.Demo;

/// <summary>Scores against the demo ground truth with <see cref="ReferenceScorer"/>.</summary>
public sealed class DemoPromptScorer(DemoGroundTruth truth, string groundTruthPath) : IPromptScorer
{
    public string Name => "reference";
    public string Version => ReferenceScorer.Version;
    public object Settings => new { ground_truth = Path.GetFullPath(groundTruthPath) };

    public PromptScores Score(ShardRow row, IReadOnlyList<SampleRow> samples)
    {
        var question = truth.Find(row.Id) ?? throw LlavaModException.ForFile(groundTruthPath, $"has no question '{row.Id}' (data row {row.Key})");
        var scores = samples.Select(s =>
        {
            var score = DemoGroundTruth.Score(question, s.Text);
            return new SampleScore(score.Score, score.Severity, ClaimsOf(s.Text, score));
        }).ToList();
        return new PromptScores(scores, Json.Serialize(new { question = question.Id, kind = question.Kind, reference = question.Answer }));
    }

    /// <summary>The hallucinated objects of a description as claim verdicts, so 'pairs show' and the inspector can mark them.</summary>
    static string? ClaimsOf(string text, ResponseScore score) => score.HallucinatedMentions.Count == 0 ? null
        : ClaimsJson.Serialize(score.HallucinatedMentions.Select(m => new ClaimVerdict($"there is a {m.Object}", false, [text.Substring(m.Start, m.Length)])));
}

