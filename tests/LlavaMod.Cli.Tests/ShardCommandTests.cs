using System.CommandLine;
using LlavaMod.Cli;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using SixLabors.ImageSharp;

namespace LlavaMod.Cli.Tests;

/// <summary>shard, verify, inspect and merge run through the same root command as the executable, with the real tokenizer and image processor.</summary>
public sealed class ShardCommandTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "llavamod-cli-shard-" + Guid.NewGuid().ToString("N"));
    public void Dispose() { if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true); }

    static Task<int> Run(params string[] args)
    {
        var command = new RootCommand("test");
        foreach (var c in CommandCatalog.All()) command.Subcommands.Add(c);
        return CliRunner.RunAsync(command, args);
    }

    string P(string name) => Path.Combine(_root, name);

    async Task<string> DemoCorpusAsync()
    {
        Assert.Equal(0, await Run("demo-data", "--out", P("demo"), "--scenes", "40", "--test", "0", "--mine", "0", "--seed", "2"));
        return Path.Combine(P("demo"), "train");
    }

    static SortedDictionary<string, string> Hashes(string dir) =>
        new(Directory.EnumerateFiles(dir).Where(f => !Path.GetFileName(f).StartsWith("worker-"))
            .ToDictionary(f => Path.GetFileName(f), Hashing.Sha256OfFile), StringComparer.Ordinal);

    [Fact]
    public async Task Shard_stores_template_token_ids_and_resized_images_and_verify_passes()
    {
        string train = await DemoCorpusAsync();
        string input = Path.Combine(train, "conversations.json");
        Assert.Equal(0, await Run("shard", "--input", input, "--image-root", train, "--out", P("s"), "--template", "chatml",
            "--image-mode", "shortest-crop", "--image-size", "32", "--shard-rows", "50", "--threads", "2"));
        Assert.Equal(0, await Run("verify", P("s")));
        Assert.Equal(0, await Run("inspect", P("s"), "--row", "000000001"));

        var template = ChatTemplate.Create(ChatTemplateKind.ChatMl, QwenTokenizer.Load(QwenTokenizer.BundledPath));
        int n = 0;
        await foreach (var row in DatasetReader.EnumerateRows(P("s")))
        {
            var turns = DatasetInspector.Turns(row).Select(t => new ChatTurn(t.Role, t.Text)).ToList();
            var want = template.Tokenize(turns);
            Assert.Equal(want.InputIds, row.InputIds);
            Assert.Equal(want.LabelMask, row.LabelMask);
            var info = Image.Identify(row.Image!.Bytes!);
            Assert.Equal((32, 32), (info.Width, info.Height));
            Assert.Equal((32, 32), (row.Width, row.Height));
            Assert.Equal(48, row.OriginalWidth);
            n++;
        }
        Assert.True(n > 40);
    }

    [Fact]
    public async Task Verify_fails_on_a_damaged_shard_and_resume_and_merge_reproduce_a_single_run()
    {
        string train = await DemoCorpusAsync();
        string input = Path.Combine(train, "conversations.json");
        string[] common = ["--input", input, "--image-root", train, "--shard-rows", "30", "--threads", "2"];
        Assert.Equal(0, await Run(["shard", .. common, "--out", P("single")]));

        Assert.Equal(0, await Run(["shard", .. common, "--out", P("split"), "--worker", "1", "--workers", "2"]));
        Assert.Equal(1, await Run("merge", P("split")));   // worker 0 missing: a user error
        Assert.Equal(0, await Run(["shard", .. common, "--out", P("split"), "--worker", "0", "--workers", "2"]));
        Assert.Equal(0, await Run("merge", P("split")));
        Assert.Equal(Hashes(P("single")), Hashes(P("split")));

        File.AppendAllText(Path.Combine(P("split"), "00001.parquet"), "x");
        Assert.Equal(1, await Run("verify", P("split")));
        Assert.Equal(1, await Run(["shard", .. common, "--out", P("single")])); // finished run, no --resume
        Assert.Equal(0, await Run(["shard", .. common, "--out", P("single"), "--resume"]));
    }
}
