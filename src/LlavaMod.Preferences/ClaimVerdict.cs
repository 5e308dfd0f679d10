using System.Text.Json;
using System.Text.RegularExpressions;
using LlavaMod.Core;

namespace LlavaMod.Preferences;

/// <summary>One atomic claim of a response and the scorer's verdict; <see cref="HallucinatedWords"/>
/// names the words or phrases of the response the false claim rests on. A response's claims JSON is
/// a list of these: <c>[{"claim": "...", "supported": false, "hallucinated_words": ["wings"]}]</c>.</summary>
public sealed record ClaimVerdict(string Claim, bool Supported, IReadOnlyList<string>? HallucinatedWords = null);

/// <summary>A piece of a response text, marked when it is a hallucinated word.</summary>
public sealed record MarkedSpan(string Text, bool Hallucinated);

/// <summary>Reads and writes claims JSON and marks hallucinated words in a response.</summary>
public static class ClaimsJson
{
    public static string Serialize(IEnumerable<ClaimVerdict> claims) => JsonSerializer.Serialize(claims.ToList(), Json.Compact);

    public static IReadOnlyList<ClaimVerdict> Parse(string? json, string source) =>
        string.IsNullOrWhiteSpace(json) ? [] : Json.Deserialize<List<ClaimVerdict>>(json, source);

    /// <summary>Splits <paramref name="text"/> into spans; whole-word, case-insensitive matches of the
    /// hallucinated words of unsupported claims are marked.</summary>
    public static IReadOnlyList<MarkedSpan> Mark(string text, IEnumerable<ClaimVerdict> claims)
    {
        var words = claims.Where(c => !c.Supported).SelectMany(c => c.HallucinatedWords ?? [])
            .Where(w => !string.IsNullOrWhiteSpace(w)).Distinct(StringComparer.OrdinalIgnoreCase)
            .OrderByDescending(w => w.Length).ToList();
        if (words.Count == 0) return [new MarkedSpan(text, false)];
        var pattern = new Regex(@"(?<!\w)(?:" + string.Join("|", words.Select(Regex.Escape)) + @")(?!\w)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        var spans = new List<MarkedSpan>();
        int at = 0;
        foreach (Match m in pattern.Matches(text))
        {
            if (m.Index > at) spans.Add(new MarkedSpan(text[at..m.Index], false));
            spans.Add(new MarkedSpan(m.Value, true));
            at = m.Index + m.Length;
        }
        if (at < text.Length) spans.Add(new MarkedSpan(text[at..], false));
        return spans;
    }
}
