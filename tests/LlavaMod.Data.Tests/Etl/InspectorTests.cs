using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Tests.Etl;

public class InspectorTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    [Fact]
    public async Task Rows_are_found_by_key_and_rejected_rows_are_explained()
    {
        var rows = _corpus.MixedRows(30);
        string input = _corpus.WriteJsonl("a.jsonl", rows);
        string dir = Path.Combine(_corpus.Root, "out");
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, dir, [input]));

        var row = await DatasetInspector.FindAsync(dir, "000020006"); // block 2, offset 6 = source row 22
        Assert.Equal("r22", row.Id);
        Assert.Equal([new SourceTurn("user", "<image>\nDescribe picture 22."), new SourceTurn("assistant", "A picture with shade 22 and 22 words.")],
            DatasetInspector.Turns(row));
        // source row 18 (i % 13 == 5) had a missing image
        var e = await Assert.ThrowsAsync<LlavaMod.Core.LlavaModException>(() => DatasetInspector.FindAsync(dir, "000020002"));
        Assert.Contains("rejects.jsonl", e.Message);
        await Assert.ThrowsAsync<LlavaMod.Core.LlavaModException>(() => DatasetInspector.FindAsync(dir, "12"));
        Assert.Equal(["r0", "r1"], (await DatasetInspector.FirstRowsAsync(dir, 2)).Select(r => r.Id));

        var counts = await DatasetReader.TokenCountsAsync(dir);
        var all = new List<ShardRow>();
        await foreach (var r in DatasetReader.EnumerateRows(dir)) all.Add(r);
        Assert.Equal(all.Select(r => r.InputIds.Length), counts.SelectMany(c => c));
        Assert.Equal(DatasetManifest.Load(dir).Shards.Select(s => (int)s.Rows), counts.Select(c => c.Length));
    }
}
