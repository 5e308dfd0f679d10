using System.Globalization;
using System.Text;
using LlavaMod.Core;
using LlavaMod.Preferences;
using Microsoft.AspNetCore.Http;

namespace LlavaMod.Inspector;

/// <summary>The query string of the list page and <c>/api/pairs</c>, named like the options of
/// <c>pairs list</c> (<c>min-gap</c>, <c>max-gap</c>, <c>min-severity</c>, <c>min-length</c>,
/// <c>max-length</c>, <c>run</c>, <c>source</c>, <c>split</c>, <c>text</c>, <c>sort</c>, <c>desc</c>,
/// <c>limit</c>, <c>after</c>), parsed into a <see cref="PairQuery"/> and written back for links.
/// Empty fields (as an HTML form sends them) count as absent.</summary>
public static class ListRequest
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>Parses the query; a malformed value throws <see cref="LlavaModException"/> naming the field.</summary>
    public static PairQuery Parse(IQueryCollection q) => new()
    {
        Run = Text(q, "run"),
        MinGap = Number(q, "min-gap"),
        MaxGap = Number(q, "max-gap"),
        MinSeverity = Number(q, "min-severity"),
        MinLength = Integer(q, "min-length"),
        MaxLength = Integer(q, "max-length"),
        Source = Text(q, "source") is { } source ? PairStore.ParseSource(source) : null,
        Split = Text(q, "split") is { } split ? PairStore.ParseSplit(split) : null,
        Text = Text(q, "text"),
        Sort = Text(q, "sort") is { } sort ? ParseSort(sort) : PairSort.Id,
        Descending = Text(q, "desc") is { } desc && desc is "1" or "true" or "on",
        Limit = Integer(q, "limit") is { } limit ? CheckLimit(limit) : DefaultLimit,
        After = Long(q, "after"),
    };

    /// <summary>The query string (with leading '?') for <paramref name="query"/>; defaults are left out.</summary>
    public static string ToQueryString(PairQuery query)
    {
        var parts = new List<(string, string)>();
        void Add(string name, string? value) { if (value is not null) parts.Add((name, value)); }
        Add("run", query.Run);
        Add("min-gap", F(query.MinGap));
        Add("max-gap", F(query.MaxGap));
        Add("min-severity", F(query.MinSeverity));
        Add("min-length", query.MinLength?.ToString(CultureInfo.InvariantCulture));
        Add("max-length", query.MaxLength?.ToString(CultureInfo.InvariantCulture));
        Add("source", query.Source?.ToString().ToLowerInvariant());
        Add("split", query.Split?.ToString().ToLowerInvariant());
        Add("text", query.Text);
        if (query.Sort != PairSort.Id) Add("sort", query.Sort.ToString().ToLowerInvariant());
        if (query.Descending) Add("desc", "1");
        if (query.Limit != DefaultLimit) Add("limit", query.Limit.ToString(CultureInfo.InvariantCulture));
        Add("after", query.After?.ToString(CultureInfo.InvariantCulture));
        if (parts.Count == 0) return "";
        var sb = new StringBuilder("?");
        foreach (var (name, value) in parts)
        {
            if (sb.Length > 1) sb.Append('&');
            sb.Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
        return sb.ToString();
    }

    static string? F(double? v) => v?.ToString("R", CultureInfo.InvariantCulture);

    static PairSort ParseSort(string text) => text.ToLowerInvariant() switch
    {
        "id" => PairSort.Id,
        "gap" => PairSort.Gap,
        "severity" => PairSort.Severity,
        "length" => PairSort.Length,
        _ => throw new LlavaModException($"sort: unknown order '{text}' (expected id, gap, severity or length)"),
    };

    static int CheckLimit(int limit) =>
        limit is >= 1 and <= MaxLimit ? limit : throw new LlavaModException($"limit: {limit} is outside 1..{MaxLimit}");

    static string? Text(IQueryCollection q, string name)
    {
        string? value = q[name];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    static double? Number(IQueryCollection q, string name) => Text(q, name) is not { } text ? null
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
        : throw new LlavaModException($"{name}: '{text}' is not a number");

    static int? Integer(IQueryCollection q, string name) => Text(q, name) is not { } text ? null
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
        : throw new LlavaModException($"{name}: '{text}' is not a whole number");

    static long? Long(IQueryCollection q, string name) => Text(q, name) is not { } text ? null
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v
        : throw new LlavaModException($"{name}: '{text}' is not a pair id");
}
