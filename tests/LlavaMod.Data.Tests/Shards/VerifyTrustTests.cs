using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Tests.Etl;

namespace LlavaMod.Data.Tests.Shards;

/// <summary>`verify` no longer trusts dataset.json blindly, and `verify --deep` decodes every page (issue 16.3).</summary>
public class VerifyTrustTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    async Task<string> DatasetAsync()
    {
        string dir = Path.Combine(_corpus.Root, "out");
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(40));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, dir, [input], blockRows: 16, groupRows: 3));
        Assert.Empty(await DatasetVerifier.VerifyAsync(dir, deep: true));
        return dir;
    }

    [Theory]
    [InlineData("tokenizer_fingerprint", "\"0000\"")]
    [InlineData("source_rows", "41")]
    public async Task An_edited_dataset_json_is_refused_when_loaded(string field, string value)
    {
        string dir = await DatasetAsync();
        string path = Path.Combine(dir, DatasetManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.NotNull(json[field]);
        json[field] = JsonNode.Parse(value);
        File.WriteAllText(path, json.ToJsonString());

        var e = Assert.Throws<LlavaModException>(() => DatasetManifest.Load(dir));
        Assert.StartsWith($"{path}: was changed after it was written", e.Message);
        await Assert.ThrowsAsync<LlavaModException>(() => DatasetVerifier.VerifyAsync(dir));
    }

    [Fact]
    public async Task A_manifest_without_its_checksum_is_reported_by_verify()
    {
        string dir = await DatasetAsync();
        string path = Path.Combine(dir, DatasetManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.True(json.Remove("checksum"));
        File.WriteAllText(path, json.ToJsonString());
        Assert.Contains(await DatasetVerifier.VerifyAsync(dir), p => p.File == DatasetManifest.FileName && p.Problem.Contains("no checksum"));
    }

    /// <summary>Records the shard's current size and sha256 (and its row count) in the manifest, as a forger would, checksum included.</summary>
    static void Forge(string dir, string file, long? rows = null)
    {
        var m = DatasetManifest.Load(dir);
        string path = Path.Combine(dir, file);
        m = m with { Shards = m.Shards.Select(s => s.File != file ? s : s with { Bytes = new FileInfo(path).Length, Sha256 = Hashing.Sha256OfFile(path), Rows = rows ?? s.Rows }).ToList() };
        m.Save(dir);
    }

    [Fact]
    public async Task A_damaged_page_behind_a_forged_size_and_sha256_passes_plain_verify_but_not_deep()
    {
        string dir = await DatasetAsync();
        string shard = Path.Combine(dir, "00001.parquet");
        byte[] bytes = File.ReadAllBytes(shard);
        int at = bytes.AsSpan(4).IndexOf([(byte)0x28, (byte)0xB5, (byte)0x2F, (byte)0xFD]) + 4; // the first compressed page
        bytes.AsSpan(at, 4).Clear();
        File.WriteAllBytes(shard, bytes);
        Forge(dir, "00001.parquet");

        Assert.Empty(await DatasetVerifier.VerifyAsync(dir));
        var deep = await DatasetVerifier.VerifyAsync(dir, deep: true);
        var problem = Assert.Single(deep);
        Assert.Equal("00001.parquet", problem.File);
        Assert.StartsWith("row group 0, column ", problem.Problem);
    }

    [Fact]
    public async Task Deep_verify_finds_a_shard_swapped_for_another_and_ids_outside_the_recorded_vocabulary()
    {
        string dir = await DatasetAsync();
        var before = DatasetManifest.Load(dir);
        File.Copy(Path.Combine(dir, "00002.parquet"), Path.Combine(dir, "00001.parquet"), overwrite: true);
        Forge(dir, "00001.parquet", rows: before.Shards.Single(s => s.File == "00002.parquet").Rows);
        var problem = Assert.Single(await DatasetVerifier.VerifyAsync(dir, deep: true), p => p.File == "00001.parquet");
        Assert.Contains("belongs to block 2, not this shard's block 1", problem.Problem);

        string other = Path.Combine(_corpus.Root, "other");
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, other, [_corpus.WriteJsonl("b.jsonl", _corpus.MixedRows(10))]));
        var narrowed = DatasetManifest.Load(other) with { VocabularySize = 100 }; // FakeEncoder ids go up to 50,000
        narrowed.Save(other);
        Assert.Contains(await DatasetVerifier.VerifyAsync(other, deep: true), p => p.Problem.Contains("outside the vocabulary of 100"));
    }
}
