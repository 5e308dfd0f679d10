using System.Globalization;
using System.Text;
using LlavaMod.Core;
using LlavaMod.Preferences;
using static LlavaMod.Inspector.Html;

namespace LlavaMod.Inspector;

/// <summary><c>GET /pairs/{id}</c>: the image beside the prompt, the chosen and rejected responses side
/// by side with hallucinated words marked, and the pair's scores, gap, severity and reference log-probs.</summary>
public static class DetailPage
{
    const int SmallImage = 256;

    /// <param name="imageAvailable">Whether <c>/pairs/{id}/image</c> will serve the image.</param>
    /// <param name="imageSize">Its size in pixels when known (small images are scaled up without smoothing).</param>
    /// <param name="previous">The id of the pair before (in id order), linked when not null; likewise <paramref name="next"/>.</param>
    public static string Render(PairDetail p, bool imageAvailable, (int Width, int Height)? imageSize = null, long? previous = null, long? next = null)
    {
        string id = p.Id.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append($"<h1>Pair {id}</h1>\n<nav class=\"pager\">");
        if (previous is { } prev) sb.Append(CultureInfo.InvariantCulture, $"<a rel=\"prev\" href=\"/pairs/{prev}\">« pair {prev}</a>");
        if (next is { } nxt) sb.Append(CultureInfo.InvariantCulture, $"<a rel=\"next\" href=\"/pairs/{nxt}\">pair {nxt} »</a>");
        sb.Append($"<a href=\"/api/pairs/{id}\">JSON</a></nav>\n<div class=\"pair\">\n<div class=\"image\">");
        if (p.ImagePath is null) sb.Append("<div class=\"noimage\">no image</div>");
        else if (!imageAvailable) sb.Append($"<div class=\"noimage\">image not found under the image root:<br><code>{E(p.ImagePath)}</code></div>");
        else
        {
            string small = imageSize is { Width: < SmallImage } ? " class=\"small\"" : "";
            sb.Append($"<a href=\"/pairs/{id}/image\"><img{small} src=\"/pairs/{id}/image\" alt=\"image of pair {id}\"></a>");
        }
        sb.Append("\n<dl class=\"facts\">");
        Fact(sb, "run", E(p.Run));
        Fact(sb, "split / source", $"{E(p.Split)} / {E(p.Source)}");
        Fact(sb, "gap", Num(p.Gap));
        Fact(sb, "severity", Num(p.Severity));
        Fact(sb, "ref logp chosen", RefLogp(p.RefChosenLogp, p.RefChosenTokens));
        Fact(sb, "ref logp rejected", RefLogp(p.RefRejectedLogp, p.RefRejectedTokens));
        Fact(sb, "prompt key", E(p.PromptKey));
        Fact(sb, "image key", E(p.ImageKey ?? "–"));
        Fact(sb, "image path", E(p.ImagePath ?? "–"));
        if (imageSize is { } size) Fact(sb, "image size", string.Create(CultureInfo.InvariantCulture, $"{size.Width} × {size.Height} px"));
        if (p.PromptMetaJson is not null) Fact(sb, "prompt meta", $"<code>{E(p.PromptMetaJson)}</code>");
        sb.Append("</dl>\n</div>\n<div>\n<h2>Prompt</h2>\n");
        sb.Append($"<div class=\"prompt\">{E(UserQuestion.Of(p.PromptText))}</div>\n<div class=\"responses\">\n");
        AppendResponse(sb, "Chosen", "chosen", p.Chosen);
        AppendResponse(sb, "Rejected", "rejected", p.Rejected);
        sb.Append("</div>\n</div>\n</div>\n");
        return Page($"pair {id}", sb.ToString());
    }

    /// <summary>The response's claims, or none and the reason when its claims JSON is malformed.</summary>
    public static (IReadOnlyList<ClaimVerdict> Claims, string? Error) ReadClaims(ResponseDetail r)
    {
        try { return (ClaimsJson.Parse(r.ClaimsJson, $"claims of response {r.Id}"), null); }
        catch (LlavaModException e) { return ([], e.Message); }
    }

    /// <summary>The reference (teacher) summed log-prob, with its token count when known.</summary>
    static string RefLogp(double? logp, long? tokens) =>
        logp is null ? "–" : tokens is null ? Num(logp, 4) : $"{Num(logp, 4)} over {Num(tokens)} tokens";

    static void Fact(StringBuilder sb, string name, string html) => sb.Append($"<dt>{name}</dt><dd>{html}</dd>");

    static void AppendResponse(StringBuilder sb, string title, string cls, ResponseDetail r)
    {
        var (claims, claimsError) = ReadClaims(r);
        sb.Append(CultureInfo.InvariantCulture, $"<section class=\"{cls}\">\n<h2>{title}</h2>\n<dl class=\"facts\">");
        Fact(sb, "score", Num(r.Score));
        Fact(sb, "tokens", Num(r.TokenCount));
        Fact(sb, "sampler logp", Num(r.SamplerLogp, 4));
        sb.Append($"</dl>\n<div class=\"response {cls}\">");
        foreach (var span in ClaimsJson.Mark(r.Text, claims))
            sb.Append(span.Hallucinated ? $"<mark>{E(span.Text)}</mark>" : E(span.Text));
        sb.Append("</div>\n");
        if (claimsError is not null) sb.Append($"<p class=\"error\">{E(claimsError)}</p>\n");
        if (claims.Count > 0)
        {
            sb.Append("<ul class=\"claims\">");
            foreach (var c in claims)
            {
                string words = c.HallucinatedWords is { Count: > 0 } w ? " — " + E(string.Join(", ", w)) : "";
                sb.Append(c.Supported ? $"<li>✓ {E(c.Claim)}</li>" : $"<li class=\"unsupported\">✗ {E(c.Claim)}{words}</li>");
            }
            sb.Append("</ul>\n");
        }
        sb.Append("</section>\n");
    }
}
