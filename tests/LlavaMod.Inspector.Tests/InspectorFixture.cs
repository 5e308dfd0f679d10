using LlavaMod.Inspector;
using LlavaMod.Preferences;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Inspector.Tests;

/// <summary>One pair as written into the test index, kept as the reference the pages are checked against.</summary>
public sealed record SeedPair(long Id, string Run, string Prompt, string? ImagePath, string Chosen, string Rejected,
    double ChosenScore, double RejectedScore, int ChosenTokens, int RejectedTokens, double Severity,
    double RefChosenLogp, double RefRejectedLogp, PairSource Source, string? RejectedClaims = null)
{
    public double Gap => ChosenScore - RejectedScore;
    public int Length => Math.Max(ChosenTokens, RejectedTokens);
}

/// <summary>A pair index in a temp folder (image root <c>images/</c> with a real PNG, a PNG outside the
/// root) and the inspector on an in-memory test server.</summary>
public sealed class InspectorFixture : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("llavamod-inspector-").FullName;
    public string ImageRoot => Path.Combine(Dir, "images");
    public string DbPath => Path.Combine(Dir, "pairs.db");
    public string CatPng => Path.Combine(ImageRoot, "cat.png");
    public string OutsidePng => Path.Combine(Dir, "outside.png");
    public const string EvilRun = "evil\"<run>";
    public const string Script = "<script>alert('x')</script>";
    public const string BrokenClaims = "[{\"claim\": \"unterminated";
    public long BrokenClaimsId => Pairs.Single(p => p.RejectedClaims == BrokenClaims).Id;
    public List<SeedPair> Pairs { get; } = [];
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ImageRoot);
        WritePng(CatPng, 8, 6);
        WritePng(OutsidePng, 4, 4);
        string wingsClaims = ClaimsJson.Serialize([
            new ClaimVerdict("a cat is on a table", true),
            new ClaimVerdict("the cat has wings", false, ["wings"]),
        ]);
        using (var store = PairStore.Open(DbPath))
        {
            long runA = store.CreateRun(new RunInfo("run-a", "teacher", "1", "sampler", "t0.7", "claims", "1"));
            long runEvil = store.CreateRun(new RunInfo(EvilRun, "teacher", "1", "sampler", "t0.7", "claims", "1"));
            Add(store, runA, "run-a", "What is on the table?", "cat.png", "A cat sits on the table.", "A cat with Wings sits on the table.",
                0, -2, 6, 8, 2.0, -12.5, -20.25, PairSource.Mined, wingsClaims);
            Add(store, runA, "run-a", "Escaping image?", "../outside.png", "fine answer", "bad answer", -1, -2, 3, 20, 1.0, -3, -4, PairSource.Mined);
            Add(store, runA, "run-a", "Absolute image?", OutsidePng, "zebra stripes", "zebra spots", 0, -5, 30, 2, 0.5, -5, -6, PairSource.Imported);
            Add(store, runEvil, EvilRun, "<b>bold</b> prompt & more", null, "A harmless dog.", Script + " dog", -1, -3, 4, 5, 1.5, -7, -8, PairSource.Imported);
            for (int i = 0; i < 6; i++)
                Add(store, runA, "run-a", $"Count the apples {i}", null, $"{i} apples", $"{i + 2} apples", -i, -i - 1 - (i % 3), 2 + i, 3 + 2 * i, 0.25 * i, -i, -2 * i, PairSource.Mined);
            Add(store, runA, "run-a", "Broken claims?", null, "plain", "also plain", 0, -1, 1, 1, 1, -1, -1, PairSource.Mined, BrokenClaims);
        }
        App = InspectorApp.Build(DbPath, ImageRoot, InspectorApp.DefaultUrls, b => b.WebHost.UseTestServer());
        await App.StartAsync();
        Client = App.GetTestClient();
    }

    void Add(PairStore store, long runId, string run, string prompt, string? image, string chosen, string rejected, double cs, double rs,
        int ct, int rt, double severity, double refC, double refR, PairSource source, string? rejectedClaims = null)
    {
        var responses = new[]
        {
            new ResponseRecord(chosen, Enumerable.Range(1, ct).ToArray(), cs),
            new ResponseRecord(rejected, Enumerable.Range(1, rt).ToArray(), rs, rejectedClaims),
        };
        store.AddMinedBatch(runId, [new MinedPrompt(new PromptRecord($"key-{Pairs.Count}", prompt, null, null, image), responses,
            [new PairRecord(0, 1, severity, refC, ct, refR, rt, PairSplit.Train, source)])]);
        Pairs.Add(new SeedPair(Pairs.Count + 1, run, prompt, image, chosen, rejected, cs, rs, ct, rt, severity, refC, refR, source, rejectedClaims));
    }

    static void WritePng(string path, int width, int height)
    {
        using var image = new Image<Rgba32>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = new Rgba32((byte)(x * 30), (byte)(y * 40), 200);
        image.SaveAsPng(path);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
