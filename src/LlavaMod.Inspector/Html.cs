using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace LlavaMod.Inspector;

/// <summary>HTML encoding, number formatting and the page frame (header, navigation, CSS) shared by
/// the inspector's pages. Everything that comes from the pair index goes through <see cref="E"/>.</summary>
public static class Html
{
    static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    /// <summary>HTML-encodes text for element content and quoted attribute values.</summary>
    public static string E(string? text) => text is null ? "" : Encoder.Encode(text);

    /// <summary>A number with up to <paramref name="decimals"/> decimals, or "–" when absent.</summary>
    public static string Num(double? value, int decimals = 3) =>
        value is { } v ? v.ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture) : "–";

    public static string Num(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "–";

    /// <summary>The text cut to <paramref name="max"/> characters on one line.</summary>
    public static string Cut(string text, int max)
    {
        string oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= max ? oneLine : oneLine[..(max - 1)] + "…";
    }

    /// <summary>A whole page: <paramref name="title"/> is plain text, <paramref name="body"/> is HTML.</summary>
    public static string Page(string title, string body) =>
        $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{E(title)} · llavamod pairs</title>
        <style>{Css}</style>
        </head>
        <body>
        <header><a class="brand" href="/">llavamod pairs</a> <a href="/">list</a> <a href="/stats">stats</a></header>
        <main>
        {body}
        </main>
        </body>
        </html>
        """;

    const string Css =
        """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
        header { background: #2d3e50; padding: 8px 16px; }
        header a { color: #fff; margin-right: 16px; text-decoration: none; }
        header a.brand { font-weight: bold; }
        main { padding: 12px 16px; }
        h1 { font-size: 20px; margin: 4px 0 12px; }
        h2 { font-size: 16px; margin: 12px 0 6px; }
        table { border-collapse: collapse; background: #fff; }
        th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
        th { background: #eef1f4; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        form.filters { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: end; margin-bottom: 10px; }
        form.filters label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
        form.filters input[type=text] { width: 12em; }
        form.filters input.n { width: 5em; }
        .pager { margin: 10px 0; }
        .pager a { margin-right: 12px; }
        .error { background: #fde8e8; border: 1px solid #e0a0a0; padding: 8px; }
        .pair { display: grid; grid-template-columns: minmax(200px, 420px) 1fr; gap: 16px; align-items: start; }
        .pair img { width: 100%; max-width: 420px; border: 1px solid #ccc; background: #fff; }
        .pair img.small { image-rendering: pixelated; }
        .noimage { padding: 40px 8px; border: 1px dashed #bbb; color: #777; text-align: center; }
        .responses { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
        .response { background: #fff; border: 1px solid #ddd; padding: 8px; white-space: pre-wrap; }
        .response.chosen { border-top: 4px solid #3a9a4a; }
        .response.rejected { border-top: 4px solid #c0392b; }
        .prompt { background: #fff; border: 1px solid #ddd; padding: 8px; white-space: pre-wrap; margin-bottom: 12px; }
        mark { background: #ffd6d6; color: #a00; font-weight: bold; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
        dl.facts dt { color: #555; }
        dl.facts dd { margin: 0; }
        ul.claims { margin: 6px 0 0; padding-left: 18px; white-space: normal; }
        .unsupported { color: #a00; }
        @media (max-width: 900px) { .pair, .responses { grid-template-columns: 1fr; } }
        .hist { display: inline-block; margin: 0 24px 18px 0; vertical-align: top; }
        .hist rect { fill: #4a78a8; }
        .hist text { font-size: 10px; fill: #444; }
        """;
}
