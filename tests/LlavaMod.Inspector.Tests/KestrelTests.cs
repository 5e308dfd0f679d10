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

/// <summary>DNS rebinding: a page served from another name cannot read the inspector (issue 16.10).</summary>
[Collection("inspector")]
public sealed class HostHeaderTests(InspectorFixture f)
{
    static async Task<HttpStatusCode> GetWithHost(string url, string host)
    {
        using var client = new HttpClient { BaseAddress = new Uri(url) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/pairs");
        request.Headers.Host = host;
        return (await client.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task Only_loopback_names_and_the_given_host_are_answered()
    {
        await using var app = InspectorApp.Build(f.DbPath, f.ImageRoot, "http://127.0.0.1:0");
        await app.StartAsync();
        string url = Assert.Single(app.Urls);
        int port = new Uri(url).Port;
        Assert.Equal(HttpStatusCode.OK, await GetWithHost(url, $"127.0.0.1:{port}"));
        Assert.Equal(HttpStatusCode.OK, await GetWithHost(url, $"localhost:{port}"));
        Assert.Equal(HttpStatusCode.BadRequest, await GetWithHost(url, $"attacker.example:{port}"));
        Assert.Equal(HttpStatusCode.BadRequest, await GetWithHost(url, "rebind.attacker.example"));
        await app.StopAsync();
    }

    [Fact]
    public void The_host_given_is_allowed_besides_loopback()
    {
        Assert.Equal(["localhost", "127.0.0.1", "[::1]", "10.1.2.3"], InspectorApp.AllowedHosts("http://10.1.2.3:5080"));
        Assert.Equal(["localhost", "127.0.0.1", "[::1]", "[fe80::1]"], InspectorApp.AllowedHosts("http://[fe80::1]:0"));
    }
}
