using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Tests.Etl;
using Parquet;

namespace LlavaMod.Data.Tests.Shards;

/// <summary>Row groups sized by bytes with a row cap, deterministic, recorded in the manifest (issue 18.6).</summary>
public class RowGroupSizingTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();
    string Out(string name) => Path.Combine(_corpus.Root, name);

    static async Task<long[]> GroupRowsAsync(string shard)
    {
        await using var stream = File.OpenRead(shard);
        await using var reader = await ParquetReader.CreateAsync(stream);
        return Enumerable.Range(0, reader.RowGroupCount).Select(g => reader.OpenRowGroupReader(g).RowCount).ToArray();
    }

    [Fact]
    public async Task Coco_size_images_make_groups_of_about_a_hundred_rows_under_the_default_target()
    {
        string path = Path.Combine(_corpus.Root, "00000.parquet");
        var format = new ShardFormat(); // 1,000 rows, 16 MB
        await using (var writer = new ShardWriter<ShardRow>(path, format))
        {
            for (int i = 0; i < 250; i++)
                await writer.AddAsync(new ShardRow
                {
                    Key = $"00000{i:D4}", Source = "a.json", SourceRow = i, Conversation = "[]",
                    Image = new ImageCell { Bytes = new byte[150_000], Path = $"{i}.jpg" }, Width = 640, Height = 480,
                    InputIds = [1, 2, 3], LabelMask = [0, 1, 1], NumTokens = 3,
                });
            await writer.CompleteAsync();
        }
        // 16,000,000 / ~150,300 bytes a row: a group closes at its 107th row
        long[] groups = await GroupRowsAsync(path);
        Assert.Equal(new long[] { 107, 107, 36 }, groups);
    }

    [Fact]
    public async Task Byte_sized_groups_close_at_the_target_are_recorded_and_stay_byte_identical_across_threads_resume_and_workers()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(70));
        const long target = 600;
        ShardJobOptions Options(string dir, int threads = 2) =>
            PipelineRunner.Options(_corpus, Out(dir), [input], threads, blockRows: 16, groupRows: 1000) with { Format = new ShardFormat { RowGroupRows = 1000, RowGroupBytes = target } };

        var manifest = await PipelineRunner.RunAsync(Options("one", threads: 1));
        Assert.Equal(target, manifest.RowGroupBytes);
        Assert.Equal(target, DatasetManifest.Load(Out("one")).RowGroupBytes);

        // every group but a shard's last reaches the target, and only with its last row
        foreach (var shard in manifest.Shards)
        {
            string path = Path.Combine(Out("one"), shard.File);
            var rows = ShardReader.ReadRows(path).ToBlockingEnumerable().ToList();
            var groups = await GroupRowsAsync(path);
            Assert.True(groups.Length > 1 || rows.Sum(r => r.EstimatedBytes()) < target * 2, $"{shard.File}: groups {string.Join(",", groups)}");
            int at = 0;
            for (int g = 0; g < groups.Length; g++)
            {
                var group = rows.Skip(at).Take((int)groups[g]).Select(r => r.EstimatedBytes()).ToList();
                if (g < groups.Length - 1) Assert.True(group.Sum() >= target && group.Sum() - group[^1] < target, $"{shard.File} group {g}");
                else Assert.True(group.Sum() - group[^1] < target, $"{shard.File} last group");
                at += group.Count;
            }
        }

        await PipelineRunner.RunAsync(Options("four", threads: 4));
        Assert.Equal(PipelineRunner.FileHashes(Out("one")), PipelineRunner.FileHashes(Out("four")));

        using var kill = new CancellationTokenSource();
        int blocks = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PipelineRunner.RunAsync(Options("resumed"), _ => { if (++blocks == 2) kill.Cancel(); }, kill.Token));
        await PipelineRunner.RunAsync(Options("resumed") with { Resume = true });
        Assert.Equal(PipelineRunner.FileHashes(Out("one")), PipelineRunner.FileHashes(Out("resumed")));

        for (int w = 0; w < 2; w++) await PipelineRunner.RunAsync(Options("split") with { Worker = w, Workers = 2 });
        await DatasetMerger.MergeAsync([Out("split")], Out("split"));
        var merged = PipelineRunner.FileHashes(Out("split"));
        foreach (var (file, hash) in PipelineRunner.FileHashes(Out("one"))) Assert.Equal(hash, merged[file]);
    }
}
