using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Tests.Etl;

public class WorkerSplitTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();
    string Out(string name) => Path.Combine(_corpus.Root, name);

    [Fact]
    public async Task Three_workers_in_one_folder_then_merge_equal_a_single_run()
    {
        // rows repeat every 23 rows, blocks hold 8: duplicates cross worker boundaries
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(75));
        var single = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("single"), [input]));
        Assert.True(single.Statistics.DuplicatesDropped > 0);

        for (int w = 2; w >= 0; w--)
        {
            var m = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("split"), [input], threads: 1) with { Worker = w, Workers = 3 });
            Assert.All(m.Shards, s => Assert.Equal(w, s.Block % 3));
        }
        Assert.False(File.Exists(Path.Combine(Out("split"), DatasetManifest.FileName)));
        await DatasetMerger.MergeAsync([Out("split")], Out("split"));

        var want = PipelineRunner.FileHashes(Out("single"), includeJournal: true);
        var got = PipelineRunner.FileHashes(Out("split"), includeJournal: true);
        foreach (var name in got.Keys.Where(k => k.StartsWith("worker-")).ToList()) got.Remove(name);
        Assert.Equal(want, got);
        Assert.Empty(await DatasetVerifier.VerifyAsync(Out("split")));
    }

    [Fact]
    public async Task Workers_in_separate_folders_merge_into_a_new_folder()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(50));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("single"), [input]));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("w0"), [input]) with { Worker = 0, Workers = 2 });
        await Assert.ThrowsAsync<LlavaMod.Core.LlavaModException>(() => DatasetMerger.MergeAsync([Out("w0")], Out("merged")));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("w1"), [input]) with { Worker = 1, Workers = 2 });
        await DatasetMerger.MergeAsync([Out("w0"), Out("w1")], Out("merged"));
        Assert.Equal(PipelineRunner.FileHashes(Out("single")), PipelineRunner.FileHashes(Out("merged")));
    }
}

public class ShardBytesCapTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();
    string Out(string name) => Path.Combine(_corpus.Root, name);

    [Fact]
    public async Task A_byte_cap_splits_blocks_into_parts_with_the_same_rows_and_merge_still_matches()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(75));
        var uncapped = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("plain"), [input], groupRows: 2));
        var capped = PipelineRunner.Options(_corpus, Out("capped"), [input], groupRows: 2) with { Format = new ShardFormat { RowGroupRows = 2, MaxShardBytes = 3000 } };
        var manifest = await PipelineRunner.RunAsync(capped);

        Assert.True(manifest.Shards.Count > uncapped.Shards.Count);
        Assert.Contains(manifest.Shards, s => s.File == "00001_01.parquet");
        Assert.All(manifest.Shards.GroupBy(s => s.Block), g => Assert.Equal(
            uncapped.Shards.Single(s => s.Block == g.Key).Rows, g.Sum(s => s.Rows)));
        var plainKeys = new List<string>();
        await foreach (var r in DatasetReader.EnumerateRows(Out("plain"))) plainKeys.Add(r.Key);
        var cappedKeys = new List<string>();
        await foreach (var r in DatasetReader.EnumerateRows(Out("capped"))) cappedKeys.Add(r.Key);
        Assert.Equal(plainKeys, cappedKeys);
        Assert.Empty(await DatasetVerifier.VerifyAsync(Out("capped")));

        for (int w = 0; w < 3; w++)
            await PipelineRunner.RunAsync(capped with { OutputDir = Out("split"), Worker = w, Workers = 3, Threads = 1 });
        await DatasetMerger.MergeAsync([Out("split")], Out("split"));
        var got = PipelineRunner.FileHashes(Out("split"));
        foreach (var name in got.Keys.Where(k => k.StartsWith("worker-")).ToList()) got.Remove(name);
        Assert.Equal(PipelineRunner.FileHashes(Out("capped")), got);
    }
}
