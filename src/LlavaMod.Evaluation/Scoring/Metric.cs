using System.Globalization;

namespace LlavaMod.Evaluation.Scoring;

/// <summary>How a metric prints: a rate or mean with its standard error, a plain number, or a count.</summary>
public enum MetricFormat { Estimate, Number, Integer }

/// <summary>
/// One headline number of a benchmark, as a report shows it. <see cref="Key"/> is its snake_case
/// name; when <see cref="PerAnswer"/> is true the metric is the mean of the per-answer values the
/// side file stores under that key, so two runs over the same questions can be compared pairwise.
/// </summary>
public sealed record Metric(string Key, string Label, double Value, double? StandardError, int Count,
    MetricFormat Format = MetricFormat.Estimate, bool LowerIsBetter = false, bool PerAnswer = false)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string Display => Format switch
    {
        MetricFormat.Integer => double.IsNaN(Value) ? "–" : Value.ToString("N0", CultureInfo.InvariantCulture),
        MetricFormat.Number => double.IsNaN(Value) ? "–" : Value.ToString("F3", CultureInfo.InvariantCulture),
        _ => Count == 0 || double.IsNaN(Value) ? "–"
            : StandardError is { } se ? string.Create(CultureInfo.InvariantCulture, $"{Value:F3} ± {se:F3}")
            : Value.ToString("F3", CultureInfo.InvariantCulture),
    };
}

/// <summary>Estimates with standard errors, the formulas every benchmark shares.</summary>
public static class Estimates
{
    /// <summary>Mean of per-answer values with the standard error sqrt(population variance / n)
    /// (for 0/1 values this is sqrt(p(1−p)/n), the binomial standard error).</summary>
    public static (double Value, double StandardError, int Count) Mean(IReadOnlyCollection<double> values)
    {
        int n = values.Count;
        if (n == 0) return (double.NaN, double.NaN, 0);
        double mean = values.Average();
        double variance = values.Sum(x => (x - mean) * (x - mean)) / n;
        return (mean, Math.Sqrt(variance / n), n);
    }

    /// <summary>A proportion hits/n with sqrt(p(1−p)/n).</summary>
    public static (double Value, double StandardError, int Count) Proportion(int hits, int n) =>
        n == 0 ? (double.NaN, double.NaN, 0) : ((double)hits / n, Math.Sqrt((double)hits / n * (1 - (double)hits / n) / n), n);

    /// <summary>A ratio of sums Σa/Σb over answers (CHAIR_i: hallucinated over mentioned objects) with the
    /// delta-method standard error sqrt(Σ(aᵢ − r·bᵢ)²) / Σb, which treats each answer as one cluster.</summary>
    public static (double Value, double StandardError, int Count) Ratio(IReadOnlyList<(double A, double B)> parts)
    {
        double sumB = parts.Sum(p => p.B);
        if (sumB == 0) return (double.NaN, double.NaN, 0);
        double r = parts.Sum(p => p.A) / sumB;
        double residuals = parts.Sum(p => (p.A - r * p.B) * (p.A - r * p.B));
        return (r, Math.Sqrt(residuals) / sumB, (int)sumB);
    }

    public static Metric ToMetric(this (double Value, double StandardError, int Count) e, string key, string label, bool lowerIsBetter = false, bool perAnswer = false) =>
        new(key, label, e.Value, e.Count == 0 ? null : e.StandardError, e.Count, MetricFormat.Estimate, lowerIsBetter, perAnswer);
}
