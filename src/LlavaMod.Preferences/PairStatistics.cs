using Dapper;

namespace LlavaMod.Preferences;

/// <summary>A histogram as data: <see cref="Counts"/>[i] counts values in
/// [Min + i·BinWidth, Min + (i+1)·BinWidth), the last bin also holds Max. Nulls are left out.</summary>
public sealed record Histogram(string Name, long Count, double Min, double Max, double Mean, double BinWidth, long[] Counts)
{
    public double BinLower(int bin) => Min + bin * BinWidth;
}

/// <summary>Distributions over the pairs matching a query (<c>pairs stats</c>).</summary>
public sealed record PairStatistics(
    long Pairs,
    IReadOnlyDictionary<string, long> BySplit,
    IReadOnlyDictionary<string, long> BySource,
    IReadOnlyList<Histogram> Histograms);

public sealed partial class PairStore
{
    static readonly (string Name, string Expression)[] StatisticColumns =
    [
        ("gap", "p.gap"),
        ("chosen_score", "p.chosen_score"),
        ("rejected_score", "p.rejected_score"),
        ("chosen_tokens", "c.token_count"),
        ("rejected_tokens", "r.token_count"),
        ("severity", "p.severity"),
    ];

    /// <summary>Counts per split and source and histograms (gap, scores, lengths, severity) of the pairs
    /// matching <paramref name="query"/> (sort and paging ignored).</summary>
    public PairStatistics GetStatistics(PairQuery query, int bins = 20)
    {
        if (bins < 1) throw new Core.LlavaModException($"bins {bins} must be ≥ 1");
        var args = new DynamicParameters();
        string from = " FROM pairs p JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id"
                      + PairQuerySql.Where(query, args);
        long total = _connection.ExecuteScalar<long>("SELECT count(*)" + from, args, _transaction);
        var bySplit = CountBy("p.split", from, args);
        var bySource = CountBy("p.source", from, args);
        var histograms = new List<Histogram>();
        foreach (var (name, expr) in StatisticColumns)
        {
            var s = _connection.QuerySingle<(long Count, double? Min, double? Max, double? Mean)>(
                $"SELECT count({expr}), CAST(min({expr}) AS REAL), CAST(max({expr}) AS REAL), avg({expr})" + from, args, _transaction);
            if (s.Count == 0)
            {
                histograms.Add(new Histogram(name, 0, 0, 0, 0, 0, []));
                continue;
            }
            double min = s.Min!.Value, max = s.Max!.Value;
            int n = max > min ? bins : 1;
            double width = max > min ? (max - min) / bins : 0;
            var counts = new long[n];
            var binArgs = new DynamicParameters(args);
            binArgs.Add("HMin", min);
            binArgs.Add("HWidth", width);
            binArgs.Add("HLast", n - 1);
            string binExpr = width > 0 ? $"min(CAST(({expr} - @HMin) / @HWidth AS INTEGER), @HLast)" : "0";
            string where = from.Contains(" WHERE ") ? $" AND {expr} IS NOT NULL" : $" WHERE {expr} IS NOT NULL";
            foreach (var (bin, count) in _connection.Query<(long, long)>($"SELECT {binExpr} AS b, count(*)" + from + where + " GROUP BY b", binArgs, _transaction))
                counts[bin] = count;
            histograms.Add(new Histogram(name, s.Count, min, max, s.Mean!.Value, width, counts));
        }
        return new PairStatistics(total, bySplit, bySource, histograms);
    }

    Dictionary<string, long> CountBy(string column, string from, DynamicParameters args) =>
        _connection.Query<(string Key, long Count)>($"SELECT {column}, count(*)" + from + $" GROUP BY {column} ORDER BY {column}", args, _transaction)
            .ToDictionary(t => t.Key, t => t.Count);
}
