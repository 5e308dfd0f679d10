using LlavaMod.Evaluation.Benchmarks;

namespace LlavaMod.Evaluation.Reports;

/// <summary>Mean and standard error of the per-answer differences a − b of one metric over the questions both
/// results scored (where the metric is defined for both), with how many differ.</summary>
public sealed record PairedDifference(double Mean, double StandardError, int Count, int Discordant)
{
    /// <summary>Null when either result has no side file or fewer than two questions are shared.</summary>
    public static PairedDifference? Of(string a, string b, string metricKey)
    {
        var (va, vb) = (ScoredResultFile.PerAnswer(a, metricKey), ScoredResultFile.PerAnswer(b, metricKey));
        if (va is null || vb is null) return null;
        var d = va.Keys.Where(vb.ContainsKey).Select(id => va[id] - vb[id]).ToList();
        if (d.Count < 2) return null;
        double mean = d.Average();
        double variance = d.Sum(x => (x - mean) * (x - mean)) / (d.Count - 1);
        return new PairedDifference(mean, Math.Sqrt(variance / d.Count), d.Count, d.Count(x => x != 0));
    }
}
