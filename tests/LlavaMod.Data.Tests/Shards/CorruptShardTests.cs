using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Tests.Etl;
using Parquet;

namespace LlavaMod.Data.Tests.Shards;

/// <summary>A damaged shard is named with its row group and column, and found before use when asked (issue 16.8).</summary>
public class CorruptShardTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    async Task<string> DatasetAsync()
    {
        string dir = Path.Combine(_corpus.Root, "out");
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(16));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, dir, [input], blockRows: 16, groupRows: 3));
        return dir;
    }

    /// <summary>Overwrites the zstd frame magic of the column's first page in the row group, so that page cannot be decompressed.</summary>
    static async Task BreakColumnAsync(string shard, int rowGroup, string column)
    {
        long start, length;
        await using (var stream = File.OpenRead(shard))
        await using (var reader = await ParquetReader.CreateAsync(stream))
        {
            var chunk = reader.Metadata!.RowGroups[rowGroup].Columns.Single(c => c.MetaData!.PathInSchema[0] == column).MetaData!;
            start = chunk.DictionaryPageOffset ?? chunk.DataPageOffset;
            length = chunk.TotalCompressedSize;
        }
        byte[] bytes = File.ReadAllBytes(shard);
        byte[] magic = [0x28, 0xB5, 0x2F, 0xFD];
        int at = bytes.AsSpan((int)start, (int)length).IndexOf(magic);
        Assert.True(at >= 0, "the column chunk holds a zstd frame");
        bytes.AsSpan((int)start + at, 4).Clear();
        File.WriteAllBytes(shard, bytes);
    }

    [Fact]
    public async Task Reading_a_damaged_shard_names_the_shard_the_row_group_and_the_column_and_says_run_verify()
    {
        string dir = await DatasetAsync();
        string shard = Path.Combine(dir, "00000.parquet");
        await BreakColumnAsync(shard, rowGroup: 1, column: "input_ids");

        var e = await Assert.ThrowsAsync<LlavaModException>(async () => { await foreach (var _ in DatasetReader.EnumerateRows(dir)) { } });
        Assert.StartsWith($"{shard}: row group 1, column input_ids", e.Message);
        Assert.Contains($"run 'llavamod verify {dir} --deep'", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        // the planner's read of num_tokens alone is not affected by that column
        Assert.Equal(DatasetManifest.Load(dir).Rows, (await ShardReader.ReadTokenCountsAsync(shard)).Length);
    }

    [Fact]
    public async Task Check_shards_finds_a_changed_shard_before_use_and_sizes_are_always_checked()
    {
        string dir = await DatasetAsync();
        string shard = Path.Combine(dir, "00000.parquet");
        ShardsBeforeUse.RequireHashes([dir]);
        await BreakColumnAsync(shard, rowGroup: 0, column: "input_ids");

        var e = Assert.Throws<LlavaModException>(() => ShardsBeforeUse.RequireHashes([dir]));
        Assert.StartsWith($"{shard}: sha256 is ", e.Message);
        Assert.Contains("run 'llavamod verify", e.Message);

        File.AppendAllText(shard, "x");
        string model = Directory.CreateTempSubdirectory("no-tokenizer").FullName;
        e = Assert.Throws<LlavaModException>(() => ShardsBeforeUse.Require([dir], model));
        Assert.StartsWith($"{new FileInfo(shard).FullName}: is {new FileInfo(shard).Length:N0} bytes, dataset.json records", e.Message);
    }
}
