using System.Globalization;
using System.Text;
using LlavaMod.Preferences;
using static LlavaMod.Inspector.Html;

namespace LlavaMod.Inspector;

/// <summary><c>GET /stats</c>: counts per split and source and one inline SVG bar chart per histogram
/// (gap, scores, token lengths, severity) of the pairs matching the list filters.</summary>
public static class StatsPage
{
    const int Width = 360, Height = 140, Bottom = 24, Left = 36;

    public static string Render(PairStatistics stats, PairQuery query)
    {
        var sb = new StringBuilder();
        sb.Append("<h1>Statistics</h1>\n");
        string filters = ListRequest.ToQueryString(query with { Limit = ListRequest.DefaultLimit, Sort = PairSort.Id, Descending = false, After = null });
        if (filters.Length > 0) sb.Append($"<p>Filtered: <code>{E(filters[1..])}</code> · <a href=\"/stats\">all pairs</a> · <a href=\"/{E(filters)}\">list them</a></p>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<p><b>{stats.Pairs}</b> pairs · split {E(Join(stats.BySplit))} · source {E(Join(stats.BySource))}</p>\n");
        foreach (var h in stats.Histograms) AppendHistogram(sb, h);
        return Page("stats", sb.ToString());
    }

    static string Join(IReadOnlyDictionary<string, long> counts) =>
        counts.Count == 0 ? "–" : string.Join(", ", counts.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value}")));

    static void AppendHistogram(StringBuilder sb, Histogram h)
    {
        sb.Append($"<figure class=\"hist\" id=\"hist-{E(h.Name)}\"><figcaption><b>{E(h.Name)}</b>");
        if (h.Count == 0)
        {
            sb.Append(": no values</figcaption></figure>\n");
            return;
        }
        sb.Append(CultureInfo.InvariantCulture, $": n {h.Count}, min {Num(h.Min)}, mean {Num(h.Mean)}, max {Num(h.Max)}</figcaption>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<svg width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"histogram of {E(h.Name)}\">");
        long top = h.Counts.Max();
        double plotW = Width - Left - 4, plotH = Height - Bottom - 8, barW = plotW / h.Counts.Length;
        for (int i = 0; i < h.Counts.Length; i++)
        {
            double barH = top == 0 ? 0 : plotH * h.Counts[i] / top;
            double x = Left + i * barW, y = 8 + plotH - barH;
            string to = Num(i == h.Counts.Length - 1 ? h.Max : h.BinLower(i + 1));
            sb.Append(CultureInfo.InvariantCulture,
                $"<rect x=\"{x:0.##}\" y=\"{y:0.##}\" width=\"{Math.Max(barW - 1, 1):0.##}\" height=\"{barH:0.##}\"><title>{Num(h.BinLower(i))} – {to}: {h.Counts[i]}</title></rect>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"14\" text-anchor=\"end\">{top}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"{8 + plotH:0}\" text-anchor=\"end\">0</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{Height - 8}\">{Num(h.Min)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - 4}\" y=\"{Height - 8}\" text-anchor=\"end\">{Num(h.Max)}</text>");
        sb.Append("</svg></figure>\n");
    }
}
