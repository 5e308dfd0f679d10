using System.Text.Json;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Tests.Etl;

public class ShardPipelineTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    string Out(string name) => Path.Combine(_corpus.Root, name);

    /// <summary>What the generator in TestCorpus.MixedRows makes of row i, derived independently of the pipeline.</summary>
    static string? ExpectedReject(int i) =>
        i % 13 == 5 ? "image_missing" : i % 17 == 3 ? "no_assistant_turn" : i % 19 == 4 ? "multiple_image_tags" : null;

    [Fact]
    public async Task Accepted_rows_rejects_and_duplicates_match_the_input()
    {
        var rows = _corpus.MixedRows(60);
        string a = _corpus.WriteJsonl("a.jsonl", rows.Take(25));
        string b = _corpus.WriteJson("b.json", rows.Skip(25));
        var manifest = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("out"), [a, b]));

        // independent expectation: first occurrence of each (image, conversation) survives
        var seen = new HashSet<string>();
        var expectedIds = new List<string>();
        int rejects = 0, dups = 0;
        for (int i = 0; i < 60; i++)
        {
            if (ExpectedReject(i) is not null) { rejects++; continue; }
            string identity = JsonSerializer.Serialize(rows[i]).Replace($"\"r{i}\"", "");
            if (seen.Add(identity)) expectedIds.Add($"r{i}"); else dups++;
        }
        var got = new List<ShardRow>();
        await foreach (var r in DatasetReader.EnumerateRows(Out("out"))) got.Add(r);

        Assert.Equal(expectedIds, got.Select(r => r.Id));
        Assert.Equal(60, manifest.SourceRows);
        Assert.Equal(rejects, manifest.Statistics.Rejected);
        Assert.Equal(dups, manifest.Statistics.DuplicatesDropped);
        Assert.True(dups > 0 && rejects > 0);
        Assert.Equal(8, manifest.Shards.Count); // 60 rows / 8 per block
        Assert.Equal(rejects, File.ReadLines(Path.Combine(Out("out"), "rejects.jsonl")).Count());
        // keys: block number + offset of the source row in its block
        foreach (var r in got)
        {
            int i = int.Parse(r.Id![1..]);
            Assert.Equal($"{i / 8:D5}{i % 8:D4}", r.Key);
            Assert.Equal(i < 25 ? "a.jsonl" : "b.json", r.Source);
            Assert.Equal(i < 25 ? i : i - 25, r.SourceRow);
        }
        var first = got.First(r => r.Image is not null);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_corpus.Images, first.Image!.Path!)), first.Image.Bytes);
        Assert.Equal(first.InputIds.Length, first.LabelMask.Length);
        Assert.Contains(-200, first.InputIds);
        Assert.Empty(await DatasetVerifier.VerifyAsync(Out("out")));
    }

    [Fact]
    public async Task Output_is_byte_identical_for_1_2_and_4_threads()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(70));
        var hashes = new List<SortedDictionary<string, string>>();
        foreach (int threads in new[] { 1, 2, 4 })
        {
            await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out($"t{threads}"), [input], threads));
            hashes.Add(PipelineRunner.FileHashes(Out($"t{threads}")));
        }
        Assert.Contains("dataset.json", hashes[0].Keys);
        Assert.Equal(hashes[0], hashes[1]);
        Assert.Equal(hashes[0], hashes[2]);
    }

    [Fact]
    public async Task Resume_after_a_kill_ends_identical_to_an_uninterrupted_run()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(70));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("clean"), [input]));

        using var kill = new CancellationTokenSource();
        int blocks = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("killed"), [input]), _ => { if (++blocks == 3) kill.Cancel(); }, kill.Token));
        Assert.False(File.Exists(Path.Combine(Out("killed"), DatasetManifest.FileName)));
        // leftovers a kill -9 can leave: a temp file, and a finished shard whose journal entry was not written
        File.WriteAllBytes(Path.Combine(Out("killed"), "00004.parquet.tmp-1-x"), [1, 2, 3]);
        File.Copy(Path.Combine(Out("clean"), "00003.parquet"), Path.Combine(Out("killed"), "00003.parquet"), true);
        File.Delete(Path.Combine(Out("killed"), BlockJournal.FolderName, "00003.json"));

        var fresh = PipelineRunner.Options(_corpus, Out("killed"), [input]);
        await Assert.ThrowsAsync<LlavaMod.Core.LlavaModException>(() => PipelineRunner.RunAsync(fresh));
        int redone = 0;
        await PipelineRunner.RunAsync(fresh with { Resume = true }, b => redone++);

        Assert.Equal(9 - 3, redone); // blocks 0-2 kept
        Assert.Equal(PipelineRunner.FileHashes(Out("clean"), includeJournal: true), PipelineRunner.FileHashes(Out("killed"), includeJournal: true));
    }

    [Fact]
    public async Task Verify_names_missing_truncated_and_corrupted_shards()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(40));
        await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("v"), [input]));
        string dir = Out("v");
        Assert.Empty(await DatasetVerifier.VerifyAsync(dir));

        File.Delete(Path.Combine(dir, "00000.parquet"));
        var bytes = File.ReadAllBytes(Path.Combine(dir, "00001.parquet"));
        File.WriteAllBytes(Path.Combine(dir, "00001.parquet"), bytes[..(bytes.Length / 2)]);
        bytes = File.ReadAllBytes(Path.Combine(dir, "00002.parquet"));
        bytes[bytes.Length / 2] ^= 0xff;
        File.WriteAllBytes(Path.Combine(dir, "00002.parquet"), bytes);

        var problems = (await DatasetVerifier.VerifyAsync(dir)).Select(p => p.ToString()).ToList();
        Assert.Contains("00000.parquet: missing", problems);
        Assert.Contains(problems, p => p.StartsWith("00001.parquet: truncated"));
        Assert.Contains(problems, p => p.StartsWith("00001.parquet: not a readable Parquet file"));
        Assert.Contains(problems, p => p.StartsWith("00002.parquet: sha256 is"));
        Assert.DoesNotContain(problems, p => p.StartsWith("00003"));
    }
}
