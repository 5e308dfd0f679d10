using System.Net;
using System.Text.RegularExpressions;

namespace LlavaMod.Inspector.Tests;

/// <summary>The pair page, the image endpoint (with paths that escape the image root) and HTML escaping.</summary>
[Collection("inspector")]
public sealed class DetailPageTests(InspectorFixture f)
{
    async Task<string> Html(string url)
    {
        var response = await f.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task ShowsPromptBothResponsesScoresAndTheImage()
    {
        var p = f.Pairs[0];
        string html = await Html("/pairs/1");
        Assert.Contains(p.Prompt, html);
        Assert.Contains(p.Chosen, html);
        Assert.Contains("<img class=\"small\" src=\"/pairs/1/image\"", html);
        Assert.Contains("<dt>image size</dt><dd>8 × 6 px</dd>", html);
        Assert.Contains("<dt>gap</dt><dd>2</dd>", html);
        Assert.Contains("<dt>severity</dt><dd>2</dd>", html);
        Assert.Contains("<dt>ref logp chosen</dt><dd>-12.5 over 6 tokens</dd>", html);
        Assert.Contains("<dt>ref logp rejected</dt><dd>-20.25 over 8 tokens</dd>", html);
        // The chosen response is rendered before the rejected one, each in its own box.
        int chosen = html.IndexOf("class=\"response chosen\"", StringComparison.Ordinal);
        int rejected = html.IndexOf("class=\"response rejected\"", StringComparison.Ordinal);
        Assert.InRange(chosen, 0, rejected - 1);
    }

    [Fact]
    public async Task LinksThePreviousAndNextPair()
    {
        string first = await Html("/pairs/1");
        Assert.DoesNotContain("rel=\"prev\"", first);
        Assert.Contains("<a rel=\"next\" href=\"/pairs/2\">", first);
        string middle = await Html("/pairs/5");
        Assert.Contains("<a rel=\"prev\" href=\"/pairs/4\">", middle);
        Assert.Contains("<a rel=\"next\" href=\"/pairs/6\">", middle);
        string last = await Html($"/pairs/{f.Pairs.Count}");
        Assert.DoesNotContain("rel=\"next\"", last);
    }

    [Fact]
    public async Task MarksTheHallucinatedWordsOfTheRejectedResponseOnly()
    {
        string html = await Html("/pairs/1");
        // "Wings" in the text, "wings" in the claim: matched case-insensitively, the text's spelling kept.
        Assert.Contains("A cat with <mark>Wings</mark> sits on the table.", html);
        Assert.Single(Regex.Matches(html, "<mark>"));
        Assert.Contains("✗ the cat has wings — wings", html);
        Assert.Contains("✓ a cat is on a table", html);
    }

    [Fact]
    public async Task ImageEndpointReturnsThePngBytes()
    {
        var response = await f.Client.GetAsync("/pairs/1/image");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(File.ReadAllBytes(f.CatPng), await response.Content.ReadAsByteArrayAsync());
        using var image = SixLabors.ImageSharp.Image.Load(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((8, 6), (image.Width, image.Height));
    }

    [Theory]
    [InlineData(2)] // "../outside.png"
    [InlineData(3)] // an absolute path outside the image root
    public async Task ImagesOutsideTheRootAreNotServed(int id)
    {
        Assert.True(File.Exists(f.OutsidePng));
        var response = await f.Client.GetAsync($"/pairs/{id}/image");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEqual("image/png", response.Content.Headers.ContentType?.MediaType);
        string html = await Html($"/pairs/{id}");
        Assert.DoesNotContain("<img", html);
        Assert.Contains("image not found under the image root", html);
    }

    [Fact]
    public async Task TextFromTheIndexIsEscapedOnEveryPage()
    {
        foreach (var url in new[] { "/pairs/4", "/", "/?text=dog" })
        {
            string body = await Html(url);
            Assert.DoesNotContain("<script>", body);
            Assert.DoesNotContain("<b>bold", body);
            Assert.DoesNotContain("evil\"<run>", body);
        }
        string html = await Html("/pairs/4");
        Assert.Contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; dog", html);
        Assert.Contains("&lt;b&gt;bold&lt;/b&gt; prompt &amp; more", html);
        Assert.Contains("<option>evil&quot;&lt;run&gt;</option>", await Html("/"));
    }

    [Fact]
    public async Task RunFilterWithQuotesAndBracketsRoundTrips()
    {
        string html = await Html("/?run=" + Uri.EscapeDataString(InspectorFixture.EvilRun));
        Assert.Contains("<a href=\"/pairs/4\">4</a>", html);
        Assert.Contains("<option selected>evil&quot;&lt;run&gt;</option>", html);
        Assert.Contains("1 shown of 1 matching pairs", html);
    }

    [Theory]
    [InlineData("/pairs/999")]
    [InlineData("/pairs/999/image")]
    [InlineData("/api/pairs/999")]
    [InlineData("/pairs/abc")]
    [InlineData("/pairs/1/image/../../outside.png")]
    public async Task UnknownPairsAre404(string url)
    {
        var response = await f.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
