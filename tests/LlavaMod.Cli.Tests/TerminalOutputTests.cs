using System.CommandLine;
using System.Text.Json.Nodes;
using LlavaMod.Cli.Commands;
using LlavaMod.Cli.Commands.Pairs;
using LlavaMod.Cli.Etl;
using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Preferences;
using Spectre.Console;
using Spectre.Console.Testing;

namespace LlavaMod.Cli.Tests;

/// <summary>Progress and tables read well on an 80-column terminal (Spectre's test console at width 80),
/// lists show the user question, and the --json outputs are JSON lines.</summary>
public sealed class TerminalOutputTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-terminal-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string System = "A chat between a curious user and an artificial intelligence assistant.";
    const string Rendered = System + " USER: <image>\nHow many red cubes are on the left of the large table? ASSISTANT:";

    static string[] Lines(TestConsole console) => console.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    static void AssertFits(string[] lines, int width = Terminal80)
    {
        foreach (var line in lines) Assert.True(line.Length <= width, $"{line.Length} columns: {line}");
    }

    const int Terminal80 = 80;

    static readonly ShardProgress Huge = new(SourceRowsRead: 123_456_789, RowsWritten: 120_000_000, Rejected: 3_456_789, DuplicatesDropped: 12_345,
        ShardsWritten: 1_234, SourceRowsSkipped: 0, InputBytesRead: 40_000_000_000, InputBytesTotal: 100_000_000_000);

    [Fact]
    public void Shard_progress_fits_80_columns_and_shows_its_counts()
    {
        var console = new TestConsole().Width(80).Interactive();
        ProgressDisplay.Create(console).Start(context =>
        {
            var task = context.AddTask(Markup.Escape(ShardProgressView.Describe(Huge)), maxValue: 100);
            task.Value = 40;
        });
        var lines = Lines(console);
        AssertFits(lines);
        Assert.Contains(lines, l => l.Contains("120M rows, 3.46M rejected, 1234 shards"));
        Assert.True(ShardProgressView.Line(Huge, TimeSpan.FromHours(30)).Length <= 80, ShardProgressView.Line(Huge, TimeSpan.FromHours(30)));
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(9_999, "9,999")]
    [InlineData(12_345, "12.3k")]
    [InlineData(999_499, "999k")]
    [InlineData(999_500, "1.00M")]
    [InlineData(123_456_789, "123M")]
    [InlineData(12_345_678_901, "12.35G")]
    public void Counts_are_short(long n, string text) => Assert.Equal(text, ProgressText.Count(n));

    [Fact]
    public void Progress_lines_of_eval_and_cache_logits_have_an_eta_and_fit_80_columns()
    {
        Assert.Equal("150/600 rows (25%), 5 rows/s, ETA 01:30", ProgressText.Progress(150, 600, TimeSpan.FromSeconds(30), "rows"));
        Assert.Equal("0/600 rows (0%), 0 rows/s, ETA ?", ProgressText.Progress(0, 600, TimeSpan.FromSeconds(3), "rows"));
        string longest = "llava_v1_5_mix665k-00012.parquet: " + ProgressText.Progress(1_234_567, 9_876_543, TimeSpan.FromDays(2), "rows");
        Assert.Contains("ETA 14d 00h", longest);
        Assert.True(longest.Length <= 80, longest);
    }

    static PairStore Store(string path)
    {
        var store = PairStore.Open(path);
        long run = store.CreateRun(new RunInfo("mined-demo-run", "teacher", "v", "sampler", "t", "reference", "v1"));
        var prompts = Enumerable.Range(0, 5).Select(i => new MinedPrompt(new PromptRecord($"k{i}", Rendered, [1, 2], null, $"images/{i}.png"),
            [new ResponseRecord($"There are two red cubes on the left of the large wooden table near the window {i}.", [1, 2, 3], 0),
             new ResponseRecord("There are three red cubes and a flying green sphere above the table.", [1, 2], -2)],
            [new PairRecord(0, 1, Severity: 3, RefChosenLogp: -12.345678, RefRejectedLogp: -20.5)])).ToList();
        store.AddMinedBatch(run, prompts);
        return store;
    }

    [Fact]
    public void Pairs_list_fits_80_columns_one_line_per_pair_and_shows_the_question()
    {
        using var store = Store(Path.Combine(_dir, "p.db"));
        var rows = store.ListPairs(new PairQuery());
        var console = new TestConsole().Width(80);
        PairsListCommand.Render(console, rows, rows.Count, 50);
        var lines = Lines(console).Where(l => l.Length > 0).ToArray();
        AssertFits(lines);
        Assert.Equal(rows.Count + 4 + 1, lines.Length); // top border, header, rule, one line per pair, bottom border, footer
        Assert.All(lines.Skip(3).Take(rows.Count), l => Assert.Contains("How many red", l));
        Assert.DoesNotContain(lines, l => l.Contains("A chat between") || l.Contains("USER:"));

        var wide = new TestConsole().Width(160);
        PairsListCommand.Render(wide, rows, rows.Count, 50);
        var wideLines = Lines(wide).Where(l => l.Length > 0).ToArray();
        AssertFits(wideLines, 160);
        Assert.Contains("ref logp c/r", wideLines[1]);
        Assert.Contains("-12.346/-20.5", wideLines[3]);
    }

    static async Task<string> Run(params string[] args)
    {
        var output = new StringWriter();
        int code = await CommandCatalog.CreateRoot().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, EnableDefaultExceptionHandler = false });
        Assert.Equal(0, code);
        return output.ToString();
    }

    [Fact]
    public async Task Pairs_list_show_and_stats_give_json_lines()
    {
        string db = Path.Combine(_dir, "p.db");
        Store(db).Dispose();
        var list = (await Run("pairs", "list", "--db", db, "--json")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(5, list.Count);
        Assert.Equal("How many red cubes are on the left of the large table?", (string)list[0]["question"]!);
        Assert.Equal(Rendered, (string)list[0]["prompt_text"]!);
        Assert.Equal(-12.345678, list[0]["ref_chosen_logp"]!.GetValue<double>());

        var show = (await Run("pairs", "show", "2", "--db", db, "--json")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var pair = JsonNode.Parse(Assert.Single(show))!;
        Assert.Equal(2, pair["id"]!.GetValue<long>());
        Assert.Equal("How many red cubes are on the left of the large table?", (string)pair["question"]!);
        Assert.Contains("flying green sphere", (string)pair["rejected"]!["text"]!);

        var stats = JsonNode.Parse(Assert.Single((await Run("pairs", "stats", "--db", db, "--json")).Split('\n', StringSplitOptions.RemoveEmptyEntries)))!;
        Assert.Equal(5, stats["pairs"]!.GetValue<long>());
        Assert.Contains(stats["histograms"]!.AsArray(), h => (string)h!["name"]! == "severity");
    }

    [Fact]
    public async Task Inspect_gives_json_lines_of_the_dataset_and_its_rows()
    {
        string raw = Path.Combine(_dir, "raw"), shards = Path.Combine(_dir, "shards");
        await Run("demo-data", "--out", raw, "--train", "6", "--val", "0", "--test", "0", "--mine", "0", "--seed", "2");
        await Run("shard", "--input", Path.Combine(raw, "train", "conversations.json"), "--image-root", Path.Combine(raw, "train"), "--template", "qwen", "--out", shards, "--threads", "1");
        var lines = (await Run("inspect", shards, "--rows", "4", "--json")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(5, lines.Count);
        Assert.True(lines[0]["dataset"]!["rows"]!.GetValue<long>() >= 4);
        Assert.Equal("user", (string)lines[1]["turns"]![0]!["role"]!);
        Assert.True(lines[1]["image"]!["width"]!.GetValue<int>() > 0);
        string key = (string)lines[2]["key"]!;
        var one = JsonNode.Parse(Assert.Single((await Run("inspect", shards, "--row", key, "--json")).Split('\n', StringSplitOptions.RemoveEmptyEntries)))!;
        Assert.Equal(key, (string)one["key"]!);
    }
}
