using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Tests.Etl;

/// <summary>Inputs that cannot give a good dataset stop the run with a clear reason (issue 16.2, 16.5, 18.5).</summary>
public class BadInputTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    string Out(string name) => Path.Combine(_corpus.Root, name);

    static IEnumerable<object> GoodRows(TestCorpus corpus, int n) =>
        Enumerable.Range(0, n).Select(i => TestCorpus.Row($"r{i}", corpus.MakeImage($"g{i}.png", 8, 8, (byte)i), ("human", "<image>\nWhat?"), ("gpt", $"Picture {i}.")));

    /// <summary>A JSON array cut in the middle of its 7th element (of 10).</summary>
    string TruncatedJson(out long cutAt)
    {
        string path = _corpus.WriteJson("cut.json", GoodRows(_corpus, 10));
        string text = File.ReadAllText(path);
        int seventh = text.IndexOf("{\"id\":\"r6\"", StringComparison.Ordinal);
        cutAt = seventh + 12;
        File.WriteAllText(path, text[..(int)cutAt]);
        return path;
    }

    [Fact]
    public async Task A_json_file_cut_mid_way_stops_the_run_before_any_shard_naming_file_line_and_byte()
    {
        string input = TruncatedJson(out _);
        var e = await Assert.ThrowsAsync<LlavaModException>(() => PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("cut"), [input])));
        Assert.StartsWith(input + ": cannot be read to its end: malformed JSON at line 1, byte ", e.Message);
        Assert.Contains("6 rows before it are whole", e.Message);
        Assert.Contains("--allow-partial-source", e.Message);
        Assert.Empty(Directory.EnumerateFiles(Out("cut"), "*.parquet"));
        Assert.False(File.Exists(Path.Combine(Out("cut"), DatasetManifest.FileName)));
    }

    [Fact]
    public async Task Allow_partial_source_keeps_the_rows_before_the_break_and_records_what_was_lost()
    {
        string input = TruncatedJson(out long cutAt);
        long whole = File.ReadAllText(input).IndexOf("{\"id\":\"r6\"", StringComparison.Ordinal) - 1; // the comma after r5 ends nothing: r5's "}" does
        var options = PipelineRunner.Options(_corpus, Out("partial"), [input]) with { AllowPartialSource = true };
        var manifest = await PipelineRunner.RunAsync(options);
        Assert.Equal(6, manifest.Statistics.Rows);
        Assert.Equal(cutAt - whole, manifest.Inputs[0].UnreadBytes);
        Assert.Equal(6, DatasetManifest.Load(Out("partial")).Rows);
    }

    [Fact]
    public async Task A_json_object_where_a_list_of_rows_is_expected_is_an_error()
    {
        string input = Path.Combine(_corpus.Root, "object.json");
        File.WriteAllText(input, "{\"data\": [{\"id\": \"a\", \"conversations\": []}]}");
        var e = await Assert.ThrowsAsync<LlavaModException>(() => PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("object"), [input])));
        Assert.Equal($"{input}: the top-level JSON value is an object, not a list of rows; a LLaVA JSON file is one array [{{...}}, {{...}}] (JSON lines go in a .jsonl file)", e.Message);
    }

    [Fact]
    public async Task A_run_that_accepts_no_row_fails_with_the_top_reason_an_example_path_and_the_rejects_file()
    {
        string input = _corpus.WriteJson("rows.json", GoodRows(_corpus, 5));
        string wrongRoot = Path.Combine(_corpus.Root, "elsewhere");
        Directory.CreateDirectory(wrongRoot);
        var options = PipelineRunner.Options(_corpus, Out("none"), [input]) with { Inputs = SourceInput.Resolve([input], null, [wrongRoot]) };
        var e = await Assert.ThrowsAsync<LlavaModException>(() => PipelineRunner.RunAsync(options));
        Assert.Contains("no row was accepted: 5 of 5 source rows rejected (image_missing 5)", e.Message);
        Assert.Contains(Path.Combine(wrongRoot, "g0.png"), e.Message);
        Assert.Contains(Path.Combine(Out("none"), "rejects.jsonl"), e.Message);
        Assert.Equal(5, File.ReadLines(Path.Combine(Out("none"), "rejects.jsonl")).Count());
        Assert.False(File.Exists(Path.Combine(Out("none"), DatasetManifest.FileName)));
    }

    [Fact]
    public async Task A_reject_share_above_the_threshold_fails_and_a_raised_threshold_resumes_to_a_dataset()
    {
        var rows = GoodRows(_corpus, 4).Concat(Enumerable.Range(0, 6).Select(i => TestCorpus.Row($"m{i}", "missing.png", ("human", "<image>\nq"), ("gpt", "a"))));
        string input = _corpus.WriteJson("mostly-missing.json", rows);
        var options = PipelineRunner.Options(_corpus, Out("share"), [input]);
        var e = await Assert.ThrowsAsync<LlavaModException>(() => PipelineRunner.RunAsync(options));
        Assert.Contains("6 of 10 source rows rejected (60 %, above --max-reject-share 0.5: image_missing 6)", e.Message.Replace("60%", "60 %"));
        var manifest = await PipelineRunner.RunAsync(options with { MaxRejectShare = 0.7, Resume = true });
        Assert.Equal(4, manifest.Rows);
    }

    [Fact]
    public async Task A_symbolic_link_in_the_image_root_to_a_file_outside_it_is_refused()
    {
        string outside = Path.Combine(Directory.CreateTempSubdirectory("outside").FullName, "secret.png");
        File.Copy(Path.Combine(_corpus.Images, _corpus.MakeImage("real.png", 8, 8, 3)), outside);
        File.CreateSymbolicLink(Path.Combine(_corpus.Images, "link.png"), outside);
        Directory.CreateSymbolicLink(Path.Combine(_corpus.Images, "linked-dir"), Path.GetDirectoryName(outside)!);
        string input = _corpus.WriteJson("links.json", [
            TestCorpus.Row("inside", "real.png", ("human", "<image>\nq"), ("gpt", "a")),
            TestCorpus.Row("file-link", "link.png", ("human", "<image>\nq"), ("gpt", "b")),
            TestCorpus.Row("dir-link", "linked-dir/secret.png", ("human", "<image>\nq"), ("gpt", "c")),
        ]);
        var manifest = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, Out("links"), [input]) with { MaxRejectShare = 1 });

        Assert.Equal(1, manifest.Rows);
        Assert.Equal(2, manifest.Statistics.RejectsByReason[SourceInput.ImagePathOutsideRoot]);
        var rejects = File.ReadAllLines(Path.Combine(Out("links"), "rejects.jsonl"));
        Assert.Contains(rejects, r => r.Contains("\"file-link\"") && r.Contains("symbolic link"));
        Assert.Contains(rejects, r => r.Contains("\"dir-link\""));
    }
}
