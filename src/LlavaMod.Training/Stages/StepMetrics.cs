using LlavaMod.Training.Losses;

namespace LlavaMod.Training.Stages;

/// <summary>
/// What one micro-batch's objective reports: the loss, the supervised tokens, and the terms of the
/// stage that computed them (null where a stage has no such term). <see cref="LogValues"/> names
/// them as metrics.jsonl and the plots do.
/// </summary>
public sealed record StepMetrics(double Loss, long Tokens)
{
    /// <summary>Cross-entropy on the labels (sft, mimic, d2s).</summary>
    public double? Ce { get; init; }
    /// <summary>KL to the teacher (mimic, d2s).</summary>
    public double? Kl { get; init; }
    /// <summary>Mean Σ_top-k p_T of the cached teacher rows (1 = the cache is exact).</summary>
    public double? TeacherCoveredMass { get; init; }
    /// <summary>MoE load-balancing loss (d2s).</summary>
    public double? Aux { get; init; }
    /// <summary>Share of first choices per MoE layer and expert, as <c>load_l{layer}_e{expert}</c>.</summary>
    public IReadOnlyList<(string Name, double Share)> ExpertLoads { get; init; } = [];
    /// <summary>Preference terms and rewards (pd).</summary>
    public PreferenceMetrics? Preference { get; init; }

    public IEnumerable<(string Name, double Value)> LogValues()
    {
        if (Preference is { } p)
        {
            yield return ("loss", Loss);
            yield return ("preference", p.PreferenceTerm);
            yield return ("chosen_nll", p.ChosenNll);
            yield return ("reward_chosen", p.RewardChosen);
            yield return ("reward_rejected", p.RewardRejected);
            yield return ("reward_margin", p.RewardMargin);
            yield return ("reward_accuracy", p.RewardAccuracy);
            yield return ("tokens", Tokens);
            yield break;
        }
        if (Ce is double ce) yield return ("ce", ce);
        if (Kl is double kl) yield return ("kl", kl);
        if (TeacherCoveredMass is double covered) yield return ("teacher_covered_mass", covered);
        if (Aux is double aux) yield return ("aux", aux);
        foreach (var load in ExpertLoads) yield return load;
        yield return ("loss", Loss);
        yield return ("tokens", Tokens);
    }
}
