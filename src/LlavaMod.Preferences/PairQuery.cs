using System.Text;
using Dapper;
using LlavaMod.Core;

namespace LlavaMod.Preferences;

/// <summary>Sort keys of <c>pairs list</c>; ties are broken by pair id.</summary>
public enum PairSort { Id, Gap, Severity, Length }

/// <summary>Filters, sort and paging for listing pairs. Length is the token count of the longer
/// response. <see cref="Text"/> matches words (FTS5, all words required) in the prompt or either
/// response. Paging: <see cref="After"/> (keyset: continue after that pair id in the chosen order)
/// or <see cref="Offset"/>. Pairs without a gap or length sort first ascending.</summary>
public sealed record PairQuery
{
    public string? Run { get; init; }
    public double? MinGap { get; init; }
    public double? MaxGap { get; init; }
    public double? MinSeverity { get; init; }
    public int? MinLength { get; init; }
    public int? MaxLength { get; init; }
    public PairSource? Source { get; init; }
    public PairSplit? Split { get; init; }
    public string? Text { get; init; }
    public PairSort Sort { get; init; } = PairSort.Id;
    public bool Descending { get; init; }
    public int Limit { get; init; } = 50;
    public int Offset { get; init; }
    public long? After { get; init; }
}

/// <summary>Builds the SQL WHERE clause and ORDER BY of a <see cref="PairQuery"/> over <c>pairs p</c>.</summary>
internal static class PairQuerySql
{
    public static string SortExpression(PairSort sort) => sort switch
    {
        PairSort.Gap => "ifnull(p.gap, -1e308)",
        PairSort.Length => "ifnull(p.length, -1)",
        PairSort.Severity => "p.severity",
        _ => "p.id",
    };

    /// <summary>The filter conditions (without paging) as " WHERE ..." or "".</summary>
    public static string Where(PairQuery q, DynamicParameters args, (long AfterId, double AfterKey)? keyset = null)
    {
        var conditions = new List<string>();
        // Sorted by a key other than id, the run/split/source filters are written "+p.col" so SQLite
        // cannot use their indexes: without statistics it takes an equality on an index as selective,
        // fetches every train pair (or every pair of the only run) through ix_pairs_split and sorts
        // them all (3 s for a page of 50 on 1 M pairs); walking the sort key's index and filtering
        // returns the page after ~50/selectivity rows (0.1 ms). See docs/benchmarks.md.
        string noIndex = q.Sort == PairSort.Id ? "" : "+";
        if (q.Run is not null)
        {
            conditions.Add($"{noIndex}p.run_id = (SELECT id FROM runs WHERE name = @Run)");
            args.Add("Run", q.Run);
        }
        if (q.MinGap is { } minGap) { conditions.Add("ifnull(p.gap, -1e308) >= @MinGap"); args.Add("MinGap", minGap); }
        if (q.MaxGap is { } maxGap) { conditions.Add("p.gap IS NOT NULL AND ifnull(p.gap, -1e308) <= @MaxGap"); args.Add("MaxGap", maxGap); }
        if (q.MinSeverity is { } minSeverity) { conditions.Add("p.severity >= @MinSeverity"); args.Add("MinSeverity", minSeverity); }
        if (q.MinLength is { } minLength) { conditions.Add("ifnull(p.length, -1) >= @MinLength"); args.Add("MinLength", minLength); }
        if (q.MaxLength is { } maxLength) { conditions.Add("p.length IS NOT NULL AND ifnull(p.length, -1) <= @MaxLength"); args.Add("MaxLength", maxLength); }
        if (q.Source is { } source) { conditions.Add($"{noIndex}p.source = @Source"); args.Add("Source", PairStore.SourceName(source)); }
        if (q.Split is { } split) { conditions.Add($"{noIndex}p.split = @Split"); args.Add("Split", PairStore.SplitName(split)); }
        if (!string.IsNullOrWhiteSpace(q.Text))
        {
            conditions.Add(
                """
                (p.chosen_id IN (SELECT rowid FROM responses_fts WHERE responses_fts MATCH @Match)
                 OR p.rejected_id IN (SELECT rowid FROM responses_fts WHERE responses_fts MATCH @Match)
                 OR p.prompt_id IN (SELECT rowid FROM prompts_fts WHERE prompts_fts MATCH @Match))
                """);
            args.Add("Match", FtsPhrases(q.Text));
        }
        if (keyset is { } k)
        {
            // Spelled as a range on the sort key plus a tie-break (not a row-value comparison), so
            // SQLite seeks in the sort index instead of scanning from its start.
            string key = SortExpression(q.Sort);
            string op = q.Descending ? "<" : ">";
            conditions.Add(q.Sort == PairSort.Id
                ? $"p.id {op} @After"
                : $"{key} {op}= @AfterKey AND ({key} {op} @AfterKey OR p.id {op} @After)");
            args.Add("After", k.AfterId);
            args.Add("AfterKey", k.AfterKey);
        }
        return conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);
    }

    public static string OrderBy(PairQuery q)
    {
        string dir = q.Descending ? "DESC" : "ASC";
        return q.Sort == PairSort.Id ? $" ORDER BY p.id {dir}" : $" ORDER BY {SortExpression(q.Sort)} {dir}, p.id {dir}";
    }

    /// <summary>User words as FTS5 string literals (quotes doubled), so no word is read as query syntax.</summary>
    public static string FtsPhrases(string text)
    {
        var sb = new StringBuilder();
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append('"').Append(word.Replace("\"", "\"\"")).Append('"');
        }
        return sb.ToString();
    }

    public static void Validate(PairQuery q)
    {
        if (q.Limit < 0) throw new LlavaModException($"limit {q.Limit} must be ≥ 0");
        if (q.Offset < 0) throw new LlavaModException($"offset {q.Offset} must be ≥ 0");
        if (q.After is not null && q.Offset != 0) throw new LlavaModException("use either --after (keyset) or --offset, not both");
    }
}
