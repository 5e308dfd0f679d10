using System.Text.Json;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Tests.Etl;

public class PreferenceAndManifestTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    [Fact]
    public async Task Preference_rows_become_a_preference_dataset()
    {
        string img = _corpus.MakeImage("p.png", 6, 6, 3);
        string input = _corpus.WriteJsonl("pd.jsonl", [
            new { id = "a", image = img, chosen = new[] { new { from = "human", value = "<image>\nWhat colour?" }, new { from = "gpt", value = "Dark green." } },
                  rejected = new[] { new { from = "human", value = "<image>\nWhat colour?" }, new { from = "gpt", value = "Bright red." } } },
            new { id = "b", question = "Name a shape.", chosen = "A circle.", rejected = "A cat." },
            new { id = "c", conversations = new[] { new { from = "human", value = "hi" }, new { from = "gpt", value = "hello" } } },
        ]);
        string dir = Path.Combine(_corpus.Root, "pref");
        var manifest = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, dir, [input]));
        Assert.Equal(ShardKind.Preference, manifest.Kind);
        Assert.Equal(1, manifest.Statistics.RejectsByReason["wrong_kind"]);
        var rows = new List<PreferenceShardRow>();
        await foreach (var r in DatasetReader.EnumeratePreferenceRows(dir)) rows.Add(r);
        Assert.Equal(["a", "b"], rows.Select(r => r.Id));
        Assert.Equal("Dark green.", rows[0].Chosen);
        Assert.Equal("Bright red.", rows[0].Rejected);
        Assert.Equal([FakeEncoder.WordId("Dark"), FakeEncoder.WordId("green.")], rows[0].ChosenIds);
        Assert.Equal(FakeEncoder.WordId("Bright"), rows[0].RejectedIds[0]);
        Assert.Equal("user: <image>\nWhat colour?", rows[0].Prompt);
        Assert.Null(rows[1].Image);
        Assert.Empty(await DatasetVerifier.VerifyAsync(dir));
        await Assert.ThrowsAsync<LlavaMod.Core.LlavaModException>(async () => { await foreach (var _ in DatasetReader.EnumerateRows(dir)) { } });
    }

    [Fact]
    public async Task Source_manifest_resolves_inputs_and_checks_sha256()
    {
        string a = _corpus.WriteJsonl("part-1.jsonl", _corpus.MixedRows(5));
        _corpus.WriteJsonl("part-2.jsonl", _corpus.MixedRows(3));
        string manifestPath = Path.Combine(_corpus.Root, "src.json");
        File.WriteAllText(manifestPath, JsonSerializer.Serialize(new
        {
            name = "test",
            image_roots = new[] { "images" },
            inputs = new object[] { new { path = "part-*.jsonl", expected_rows = 5 } },
        }));
        var resolved = SourceManifest.Load(manifestPath).Resolve(_corpus.Root);
        Assert.Equal(["part-1.jsonl", "part-2.jsonl"], resolved.Select(r => Path.GetFileName(r.Input.Path)));
        Assert.Equal(SourceFormat.LlavaJsonl, resolved[0].Input.Format);
        Assert.Equal([_corpus.Images], resolved[0].Input.ImageRoots);

        var options = PipelineRunner.Options(_corpus, Path.Combine(_corpus.Root, "o"), [a]) with
        {
            ExpectedSha256 = new Dictionary<string, string> { ["part-1.jsonl"] = new string('0', 64) },
        };
        var e = await Assert.ThrowsAsync<LlavaMod.Core.LlavaModException>(() => PipelineRunner.RunAsync(options));
        Assert.Contains("sha256", e.Message);
    }
}
