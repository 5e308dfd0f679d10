using System.Net;
using System.Text.Json;

namespace LlavaMod.Inspector.Tests;

/// <summary>The JSON API: fields named in snake_case, values as seeded, keyset paging, errors.</summary>
[Collection("inspector")]
public sealed class ApiTests(InspectorFixture f)
{
    async Task<JsonElement> Get(string url, HttpStatusCode status = HttpStatusCode.OK)
    {
        var response = await f.Client.GetAsync(url);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task ListReturnsTheFilteredPairsWithTheirFields()
    {
        var json = await Get("/api/pairs?min-severity=1");
        var expected = f.Pairs.Where(p => p.Severity >= 1).ToList();
        Assert.Equal(expected.Count, json.GetProperty("total").GetInt64());
        Assert.Equal(expected.Count, json.GetProperty("count").GetInt32());
        var pairs = json.GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(expected.Select(p => p.Id), pairs.Select(p => p.GetProperty("id").GetInt64()));
        foreach (var (want, got) in expected.Zip(pairs))
        {
            Assert.Equal(want.Run, got.GetProperty("run").GetString());
            Assert.Equal(want.Chosen, got.GetProperty("chosen_text").GetString());
            Assert.Equal(want.Rejected, got.GetProperty("rejected_text").GetString());
            Assert.Equal(want.Gap, got.GetProperty("gap").GetDouble());
            Assert.Equal(want.Severity, got.GetProperty("severity").GetDouble());
            Assert.Equal(want.Length, got.GetProperty("length").GetInt64());
            Assert.Equal(want.RefChosenLogp, got.GetProperty("ref_chosen_logp").GetDouble());
            Assert.Equal(want.RefRejectedLogp, got.GetProperty("ref_rejected_logp").GetDouble());
        }
        Assert.False(json.TryGetProperty("next", out _));
    }

    [Fact]
    public async Task NextUrlsPageThroughEverything()
    {
        var seen = new List<long>();
        string? url = "/api/pairs?sort=severity&desc=1&limit=4";
        while (url is not null)
        {
            var json = await Get(url);
            seen.AddRange(json.GetProperty("pairs").EnumerateArray().Select(p => p.GetProperty("id").GetInt64()));
            url = json.TryGetProperty("next", out var next) ? next.GetString() : null;
            Assert.True(seen.Count <= f.Pairs.Count + 4, "paging does not end");
        }
        Assert.Equal(f.Pairs.OrderByDescending(p => p.Severity).ThenByDescending(p => p.Id).Select(p => p.Id), seen);
    }

    [Fact]
    public async Task DetailHasResponsesClaimsAndImageUrl()
    {
        var p = f.Pairs[0];
        var json = await Get("/api/pairs/1");
        var pair = json.GetProperty("pair");
        Assert.Equal(p.Prompt, pair.GetProperty("prompt_text").GetString());
        Assert.Equal(p.ImagePath, pair.GetProperty("image_path").GetString());
        Assert.Equal(p.Chosen, pair.GetProperty("chosen").GetProperty("text").GetString());
        Assert.Equal(p.ChosenScore, pair.GetProperty("chosen").GetProperty("score").GetDouble());
        Assert.Equal(p.Rejected, pair.GetProperty("rejected").GetProperty("text").GetString());
        Assert.Equal(p.RejectedTokens, pair.GetProperty("rejected").GetProperty("token_count").GetInt64());
        Assert.Equal(p.RefRejectedLogp, pair.GetProperty("ref_rejected_logp").GetDouble());
        Assert.Equal("/pairs/1/image", json.GetProperty("image_url").GetString());
        var claims = json.GetProperty("rejected_claims").EnumerateArray().ToList();
        Assert.Equal(2, claims.Count);
        Assert.False(claims[1].GetProperty("supported").GetBoolean());
        Assert.Equal("wings", claims[1].GetProperty("hallucinated_words")[0].GetString());
        Assert.Empty(json.GetProperty("chosen_claims").EnumerateArray());
    }

    [Fact]
    public async Task DetailKeepsMarkupAsPlainTextAndHasNoImageUrlOutsideTheRoot()
    {
        var json = await Get("/api/pairs/4");
        Assert.Equal(InspectorFixture.Script + " dog", json.GetProperty("pair").GetProperty("rejected").GetProperty("text").GetString());
        Assert.Equal(InspectorFixture.EvilRun, json.GetProperty("pair").GetProperty("run").GetString());
        Assert.False((await Get("/api/pairs/2")).TryGetProperty("image_url", out _));
    }

    [Fact]
    public async Task MalformedClaimsJsonStillShowsThePairWithTheReason()
    {
        long id = f.BrokenClaimsId;
        var json = await Get($"/api/pairs/{id}");
        Assert.Empty(json.GetProperty("rejected_claims").EnumerateArray());
        Assert.Contains("malformed JSON", json.GetProperty("rejected_claims_error").GetString());
        Assert.False(json.TryGetProperty("chosen_claims_error", out _));
        var page = await f.Client.GetAsync($"/pairs/{id}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("also plain", html);
        Assert.Contains("<p class=\"error\">claims of response", html);
    }

    [Theory]
    [InlineData("/api/pairs/999", HttpStatusCode.NotFound, "999")]
    [InlineData("/api/pairs?max-length=x", HttpStatusCode.BadRequest, "max-length")]
    [InlineData("/api/pairs?limit=0", HttpStatusCode.BadRequest, "limit")]
    public async Task ErrorsAreJsonWithAMessage(string url, HttpStatusCode status, string named)
    {
        var json = await Get(url, status);
        Assert.Contains(named, json.GetProperty("error").GetString());
    }
}
