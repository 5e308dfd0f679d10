using System.Net;
using Microsoft.Extensions.Hosting;

namespace LlavaMod.Inspector.Tests;

/// <summary>The app on a real Kestrel socket at a free port (that the default serves loopback only: Cli.Tests PairsServeTests).</summary>
[Collection("inspector")]
public sealed class KestrelTests(InspectorFixture f)
{
    [Fact]
    public async Task ServesOverLoopback()
    {
        await using var app = InspectorApp.Build(f.DbPath, f.ImageRoot, "http://127.0.0.1:0");
        await app.StartAsync();
        string url = Assert.Single(app.Urls);
        Assert.StartsWith("http://127.0.0.1:", url);
        Assert.NotEqual("http://127.0.0.1:0", url);
        using var client = new HttpClient { BaseAddress = new Uri(url) };
        var response = await client.GetAsync("/pairs/1/image");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(File.ReadAllBytes(f.CatPng), await response.Content.ReadAsByteArrayAsync());
        await app.StopAsync();
    }

    [Fact]
    public void AMissingIndexIsRefusedAtStart()
    {
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() => InspectorApp.Build(Path.Combine(f.Dir, "nope.db"), f.ImageRoot));
        Assert.Contains("nope.db", e.Message);
    }
}
