using System.Text;
using LlavaMod.Data.Sources;
using LlavaMod.Data.Tests.Etl;

namespace LlavaMod.Data.Tests.Sources;

public class JsonReaderTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    readonly LlavaRowParser _parser = new("Describe.");
    public void Dispose() => _corpus.Dispose();

    static async Task<List<SourceRecord>> All(IAsyncEnumerable<SourceRecord> records)
    {
        var list = new List<SourceRecord>();
        await foreach (var r in records) list.Add(r);
        return list;
    }

    [Fact]
    public async Task Jsonl_bad_lines_are_rejected_and_reading_goes_on()
    {
        var rows = Enumerable.Range(0, 5).Select(i => TestCorpus.Row($"r{i}", $"{i}.png", ("human", "<image>\nq"), ("gpt", $"a{i}"))).ToList();
        string path = _corpus.WriteJsonl("in.jsonl", rows, [
            (1, Encoding.UTF8.GetBytes("{\"id\": \"broken\", ")),
            (3, [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
            (4, Encoding.UTF8.GetBytes("   ")),
        ]);
        var records = await All(JsonSourceReaders.ReadJsonLinesAsync(path, _parser));

        Assert.Equal(7, records.Count); // 8 lines, one blank
        Assert.Equal(RejectReasons.MalformedJson, records[1].Failure!.ReasonCode);
        Assert.Equal(1, records[1].SourceRow);
        Assert.Equal(RejectReasons.NonUtf8, records[3].Failure!.ReasonCode);
        var good = records.Where(r => r.Failure is null).ToList();
        Assert.Equal(["r0", "r1", "r2", "r3", "r4"], good.Select(r => r.Id));
        Assert.Equal([0L, 2, 5, 6, 7], good.Select(r => r.SourceRow));
        Assert.Equal("a4", good[4].Turns[1].Text);
        Assert.Equal(SourceTurn.Assistant, good[4].Turns[1].Role);
        Assert.Equal("4.png", good[4].Image!.Path);
    }

    [Fact]
    public async Task An_unpaired_surrogate_escape_is_a_rejected_row_in_jsonl_and_json_arrays()
    {
        string good = "{\"id\": \"ok\", \"conversations\": [{\"from\": \"human\", \"value\": \"q\"}, {\"from\": \"gpt\", \"value\": \"a\"}]}";
        string bad = good.Replace("\"ok\"", "\"bad\"").Replace("\"q\"", "\"x \\ud800 y\"");
        string jsonl = Path.Combine(_corpus.Root, "surrogate.jsonl");
        File.WriteAllLines(jsonl, [good, bad, good]);
        var records = await All(JsonSourceReaders.ReadJsonLinesAsync(jsonl, _parser));
        Assert.Equal([null, RejectReasons.MalformedJson, null], records.Select(r => r.Failure?.ReasonCode));
        Assert.Contains("UTF-16", records[1].Failure!.Message);

        string array = Path.Combine(_corpus.Root, "surrogate.json");
        File.WriteAllText(array, $"[{good}, {bad}, {good}]");
        records = await All(JsonSourceReaders.ReadJsonArrayAsync(array, _parser));
        Assert.Equal([null, RejectReasons.MalformedJson, null], records.Select(r => r.Failure?.ReasonCode));
    }

    [Fact]
    public async Task Json_array_streams_elements_and_stops_a_file_at_a_syntax_error()
    {
        string ok = _corpus.WriteJson("ok.json", Enumerable.Range(0, 4).Select(i => TestCorpus.Row($"r{i}", null, ("human", "q"), ("gpt", "a"))));
        var records = await All(JsonSourceReaders.ReadJsonArrayAsync(ok, _parser));
        Assert.Equal(["r0", "r1", "r2", "r3"], records.Select(r => r.Id));

        string broken = Path.Combine(_corpus.Root, "broken.json");
        File.WriteAllText(broken, "[{\"id\": \"a\", \"conversations\": [{\"from\": \"human\", \"value\": \"q\"}]}, {\"id\": \"b\", \"conv");
        records = await All(JsonSourceReaders.ReadJsonArrayAsync(broken, _parser));
        Assert.Equal(2, records.Count);
        Assert.Equal("a", records[0].Id);
        Assert.Equal(RejectReasons.MalformedJson, records[1].Failure!.ReasonCode);
    }

    [Fact]
    public async Task Rows_of_each_llava_shape_parse()
    {
        string path = _corpus.WriteJsonl("mixed.jsonl", [
            new { id = 1, image = "a.jpg", caption = "A cat." },
            new { id = "p", image = "b.jpg", chosen = new[] { new { from = "human", value = "<image>\nWhat?" }, new { from = "gpt", value = "Good." } },
                  rejected = new[] { new { from = "human", value = "<image>\nWhat?" }, new { from = "gpt", value = "Bad." } } },
            new { id = "q", image = "c.jpg", question = "Is it red?", chosen = "Yes.", rejected = "No." },
            new { id = "u", conversations = new[] { new { from = "robot", value = "x" } } },
            new { id = "v" },
        ]);
        var r = await All(JsonSourceReaders.ReadJsonLinesAsync(path, _parser));
        Assert.Equal("1", r[0].Id);
        Assert.Equal([new SourceTurn("user", "<image>\nDescribe."), new SourceTurn("assistant", "A cat.")], r[0].Turns);
        Assert.Equal(new PreferencePair("Good.", "Bad."), r[1].Preference);
        Assert.Equal([new SourceTurn("user", "<image>\nWhat?")], r[1].Turns);
        Assert.Equal(new PreferencePair("Yes.", "No."), r[2].Preference);
        Assert.Equal("<image>\nIs it red?", r[2].Turns[0].Text);
        Assert.Equal(RejectReasons.UnknownRole, r[3].Failure!.ReasonCode);
        Assert.Equal(RejectReasons.MissingField, r[4].Failure!.ReasonCode);
    }
}

public class ImagePathTests : IDisposable
{
    readonly LlavaMod.Data.Tests.Etl.TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    [Fact]
    public void Image_paths_resolve_under_the_roots_only()
    {
        string name = _corpus.MakeImage("in.png", 4, 4, 1);
        File.WriteAllText(Path.Combine(_corpus.Root, "secret.txt"), "x");
        var input = new SourceInput(Path.Combine(_corpus.Root, "a.jsonl"), SourceFormat.LlavaJsonl, [_corpus.Images]);
        Assert.Equal(Path.Combine(_corpus.Images, name), input.FindImage(name));
        Assert.Null(input.FindImage("nope.png"));
        Assert.Equal("image_path_outside_root", Assert.Throws<LlavaMod.Core.RowRejectedException>(() => input.FindImage("../secret.txt")).ReasonCode);
        Assert.Equal("image_path_outside_root", Assert.Throws<LlavaMod.Core.RowRejectedException>(() => input.FindImage(Path.Combine(_corpus.Root, "secret.txt"))).ReasonCode);
    }
}
