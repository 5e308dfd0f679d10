using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Sampling;
using LlavaMod.Teacher.Scoring;

namespace LlavaMod.Teacher.Mining;

/// <summary>Which scorer <c>pairs mine</c> uses: ground truth (reference) or the teacher as judge.</summary>
public enum MiningScorer { Reference, Judge }

/// <summary>One sampled response as scored for mining: scalar score, HSA-DPO severity if it is rejected, claims JSON.</summary>
public sealed record SampleScore(double Score, double Severity, string? ClaimsJson);

/// <summary>The scores of one prompt's samples and the prompt's meta JSON.</summary>
public sealed record PromptScores(IReadOnlyList<SampleScore> Samples, string? MetaJson);

/// <summary>Scores all samples of one prompt; named and versioned for the run row.</summary>
public interface IPromptScorer
{
    string Name { get; }
    string Version { get; }
    /// <summary>The scorer's settings, serialised into the run's settings JSON.</summary>
    object Settings { get; }
    PromptScores Score(ShardRow row, IReadOnlyList<SampleRow> samples);
}

/// <summary>Scores with the teacher as judge: the distinct claims of all samples of a prompt are judged
/// together (they share the image), so a prompt costs ⌈claims / batch⌉ forward passes.</summary>
public sealed class JudgePromptScorer(TeacherJudge judge, int maxClaimsPerForward) : IPromptScorer
{
    public string Name => "judge";
    public string Version => TeacherJudge.Version;
    public object Settings => new
    {
        question = TeacherJudge.QuestionTemplate, template = judge.Template.CliName(), yes_token_ids = judge.YesTokenIds,
        no_token_ids = judge.NoTokenIds, max_claims_per_forward = maxClaimsPerForward,
    };

    public PromptScores Score(ShardRow row, IReadOnlyList<SampleRow> samples)
    {
        var claimsOf = samples.Select(s => ClaimSplitter.Split(s.Text)).ToList();
        var distinct = claimsOf.SelectMany(c => c).Distinct(StringComparer.Ordinal).ToList();
        var verdicts = judge.Judge(distinct, row.Image?.Bytes).ToDictionary(c => c.Claim, StringComparer.Ordinal);
        var scores = claimsOf.Select(claims =>
        {
            var judged = TeacherJudge.FromClaims(claims.Select(c => verdicts[c]).ToList());
            return new SampleScore(judged.Score, judged.Severity, judged.ClaimsJson);
        }).ToList();
        return new PromptScores(scores, Json.Serialize(new { question = row.Id }));
    }
}
