using System.CommandLine;
using LlavaMod.Cli;

namespace LlavaMod.Cli.Tests;

/// <summary>The demo-data verb, run through the same root command and error handling as the executable.</summary>
public sealed class DemoDataCommandTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "llavamod-cli-demo-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static Task<int> Run(params string[] args)
    {
        var command = new RootCommand("test");
        foreach (var c in CommandCatalog.All()) command.Subcommands.Add(c);
        return CliRunner.RunAsync(command, args);
    }

    [Fact]
    public async Task WritesSplitsWithPerSplitSizes()
    {
        string output = Path.Combine(root, "demo");
        int code = await Run("demo-data", "--out", output, "--scenes", "30", "--test", "7", "--mine", "0", "--seed", "4", "--no-bias");
        Assert.Equal(0, code);
        Assert.Equal(30, Directory.GetFiles(Path.Combine(output, "train", "images")).Length);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(output, "val", "images")).Length);     // 30 / 10
        Assert.Equal(7, Directory.GetFiles(Path.Combine(output, "test", "images")).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(output, "mine", "images")));
        string manifest = File.ReadAllText(Path.Combine(output, "dataset.json"));
        Assert.Contains("\"seed\": 4", manifest);
        Assert.DoesNotContain("\"biased\": true", manifest);
    }

    [Fact]
    public async Task ContradictoryBiasFlagsAndExistingCorpusAreUserErrors()
    {
        string output = Path.Combine(root, "demo");
        Assert.Equal(1, await Run("demo-data", "--out", output, "--bias", "--no-bias"));
        Assert.Equal(0, await Run("demo-data", "--out", output, "--scenes", "3"));
        Assert.Equal(1, await Run("demo-data", "--out", output, "--scenes", "3"));
        Assert.Equal(0, await Run("demo-data", "--out", output, "--scenes", "3", "--force"));
    }
}
