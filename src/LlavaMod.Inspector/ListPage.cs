using System.Globalization;
using System.Text;
using LlavaMod.Preferences;
using static LlavaMod.Inspector.Html;

namespace LlavaMod.Inspector;

/// <summary><c>GET /</c>: the filter form and one page of pairs as a table, with keyset paging links.</summary>
public static class ListPage
{
    public static string Render(PairQuery query, IReadOnlyList<PairRow> rows, long total, IReadOnlyList<string> runs)
    {
        var sb = new StringBuilder();
        sb.Append("<h1>Preference pairs</h1>\n");
        AppendFilters(sb, query, runs);
        sb.Append(CultureInfo.InvariantCulture, $"<p>{rows.Count} shown of {total} matching pairs</p>\n");
        sb.Append("<table class=\"pairs\">\n<thead><tr><th>id</th><th>run</th><th>split</th><th>source</th><th>gap</th><th>score c/r</th>"
                  + "<th>severity</th><th>tokens c/r</th><th>ref logp c/r</th><th>prompt</th><th>chosen</th><th>rejected</th></tr></thead>\n<tbody>\n");
        foreach (var r in rows)
        {
            string link = $"/pairs/{r.Id.ToString(CultureInfo.InvariantCulture)}";
            sb.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"num\"><a href=\"{link}\">{r.Id}</a></td><td>{E(r.Run)}</td><td>{E(r.Split)}</td><td>{E(r.Source)}</td>"
                + $"<td class=\"num\">{Num(r.Gap)}</td><td class=\"num\">{Num(r.ChosenScore)} / {Num(r.RejectedScore)}</td>"
                + $"<td class=\"num\">{Num(r.Severity)}</td><td class=\"num\">{Num(r.ChosenTokens)} / {Num(r.RejectedTokens)}</td>"
                + $"<td class=\"num\">{Num(r.RefChosenLogp, 2)} / {Num(r.RefRejectedLogp, 2)}</td>"
                + $"<td><a href=\"{link}\">{E(Cut(UserQuestion.Of(r.PromptText), 60))}</a></td><td>{E(Cut(r.ChosenText, 70))}</td><td>{E(Cut(r.RejectedText, 70))}</td></tr>\n");
        }
        sb.Append("</tbody>\n</table>\n<div class=\"pager\">");
        if (query.After is not null) sb.Append($"<a href=\"/{E(ListRequest.ToQueryString(query with { After = null }))}\">« first page</a>");
        if (rows.Count == query.Limit && rows.Count > 0)
            sb.Append($"<a rel=\"next\" href=\"/{E(ListRequest.ToQueryString(query with { After = rows[^1].Id }))}\">next page »</a>");
        string filters = ListRequest.ToQueryString(query with { Sort = PairSort.Id, Descending = false, Limit = ListRequest.DefaultLimit, After = null });
        sb.Append($"<a href=\"/stats{E(filters)}\">statistics of these pairs</a> <a href=\"/api/pairs{E(ListRequest.ToQueryString(query))}\">JSON</a>");
        sb.Append("</div>\n");
        return Page("pairs", sb.ToString());
    }

    static void AppendFilters(StringBuilder sb, PairQuery q, IReadOnlyList<string> runs)
    {
        sb.Append("<form class=\"filters\" method=\"get\" action=\"/\">\n");
        sb.Append("<label>run<select name=\"run\"><option value=\"\">(all)</option>");
        foreach (var run in runs) sb.Append($"<option{(run == q.Run ? " selected" : "")}>{E(run)}</option>");
        sb.Append("</select></label>\n");
        Input(sb, "min gap", "min-gap", Num(q.MinGap, 6));
        Input(sb, "max gap", "max-gap", Num(q.MaxGap, 6));
        Input(sb, "min severity", "min-severity", Num(q.MinSeverity, 6));
        Input(sb, "min length", "min-length", Num(q.MinLength));
        Input(sb, "max length", "max-length", Num(q.MaxLength));
        Select(sb, "source", "source", q.Source?.ToString().ToLowerInvariant(), ["", "mined", "imported"]);
        Select(sb, "split", "split", q.Split?.ToString().ToLowerInvariant(), ["", "train", "val"]);
        sb.Append($"<label>text<input type=\"text\" name=\"text\" value=\"{E(q.Text)}\"></label>\n");
        Select(sb, "sort", "sort", q.Sort.ToString().ToLowerInvariant(), ["id", "gap", "severity", "length"]);
        sb.Append($"<label>desc<input type=\"checkbox\" name=\"desc\" value=\"1\"{(q.Descending ? " checked" : "")}></label>\n");
        Input(sb, "per page", "limit", q.Limit.ToString(CultureInfo.InvariantCulture));
        sb.Append("<button type=\"submit\">filter</button> <a href=\"/\">reset</a>\n</form>\n");
    }

    static void Input(StringBuilder sb, string label, string name, string value) =>
        sb.Append($"<label>{label}<input class=\"n\" type=\"text\" inputmode=\"decimal\" name=\"{name}\" value=\"{(value == "–" ? "" : E(value))}\"></label>\n");

    static void Select(StringBuilder sb, string label, string name, string? selected, string[] options)
    {
        sb.Append($"<label>{label}<select name=\"{name}\">");
        foreach (var o in options)
            sb.Append($"<option value=\"{o}\"{(o == (selected ?? "") ? " selected" : "")}>{(o == "" ? "(all)" : o)}</option>");
        sb.Append("</select></label>\n");
    }
}
