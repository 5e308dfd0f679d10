using Dapper;

namespace LlavaMod.Preferences;

/// <summary>A histogram as data: <see cref="Counts"/>[i] counts values in
/// [Min + i·BinWidth, Min + (i+1)·BinWidth), the last bin also holds Max. Nulls are left out.</summary>
public sealed record Histogram(string Name, long Count, double Min, double Max, double Mean, double BinWidth, long[] Counts)
{
    public double BinLower(int bin) => Min + bin * BinWidth;

    /// <summary>Bins <paramref name="values"/> into <paramref name="bins"/> equal-width bins (one bin when all are equal).</summary>
    public static Histogram Of(string name, IReadOnlyList<double> values, int bins)
    {
        if (values.Count == 0) return new Histogram(name, 0, 0, 0, 0, 0, []);
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        foreach (double v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
        }
        int n = max > min ? bins : 1;
        double width = max > min ? (max - min) / bins : 0;
        var counts = new long[n];
        foreach (double v in values)
            counts[width > 0 ? Math.Min((int)((v - min) / width), n - 1) : 0]++;
        return new Histogram(name, values.Count, min, max, sum / values.Count, width, counts);
    }
}

/// <summary>Distributions over the pairs matching a query (<c>pairs stats</c>).</summary>
public sealed record PairStatistics(
    long Pairs,
    IReadOnlyDictionary<string, long> BySplit,
    IReadOnlyDictionary<string, long> BySource,
    IReadOnlyList<Histogram> Histograms);

public sealed partial class PairStore
{
    static readonly string[] StatisticNames = ["gap", "chosen_score", "rejected_score", "chosen_tokens", "rejected_tokens", "severity"];

    /// <summary>Counts per split and source and histograms (gap, scores, lengths in tokens, severity) of
    /// the pairs matching <paramref name="query"/> (sort and paging ignored), in one scan.</summary>
    public PairStatistics GetStatistics(PairQuery query, int bins = 20)
    {
        if (bins < 1) throw new Core.LlavaModException($"bins {bins} must be ≥ 1");
        var args = new DynamicParameters();
        string sql = "SELECT p.split, p.source, p.gap, p.chosen_score, p.rejected_score, c.token_count, r.token_count, p.severity"
                     + " FROM pairs p JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id"
                     + PairQuerySql.Where(query, args);
        var values = StatisticNames.Select(_ => new List<double>()).ToArray();
        var bySplit = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var bySource = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        using (var reader = _connection.ExecuteReader(sql, args, _transaction))
        {
            while (reader.Read())
            {
                total++;
                string split = reader.GetString(0), source = reader.GetString(1);
                bySplit[split] = bySplit.GetValueOrDefault(split) + 1;
                bySource[source] = bySource.GetValueOrDefault(source) + 1;
                for (int i = 0; i < values.Length; i++)
                    if (!reader.IsDBNull(i + 2)) values[i].Add(reader.GetDouble(i + 2));
            }
        }
        var histograms = StatisticNames.Select((name, i) => Histogram.Of(name, values[i], bins)).ToList();
        return new PairStatistics(total, bySplit, bySource, histograms);
    }
}
