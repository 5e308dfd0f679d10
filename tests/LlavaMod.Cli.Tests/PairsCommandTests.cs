using System.CommandLine;
using System.Text.Json;
using LlavaMod.Cli;
using LlavaMod.Cli.Commands;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Tests;

/// <summary>The pairs verbs end to end, judged by exit codes and by the files and index they leave.</summary>
public sealed class PairsCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cli-pairs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Task<int> Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(PairsCommand.Create());
        return CliRunner.RunAsync(root, args);
    }

    string F(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Import_list_show_stats_export_verify()
    {
        File.WriteAllLines(F("in.jsonl"),
        [
            """{"id": "1", "image": "a.jpg", "chosen": [{"from": "human", "value": "<image>\nWhat is here?"}, {"from": "gpt", "value": "A bus."}], "rejected": [{"from": "human", "value": "<image>\nWhat is here?"}, {"from": "gpt", "value": "A bus with wings."}], "ref_chosen_logps": -3.5, "ref_rejected_logps": -9.25}""",
            """{"id": "2", "chosen": [{"from": "human", "value": "Count the dogs"}, {"from": "gpt", "value": "Two."}], "rejected": [{"from": "human", "value": "Count the dogs"}, {"from": "gpt", "value": "Five."}]}""",
        ]);
        string db = F("pairs.db");
        Assert.Equal(0, await Run("pairs", "import", F("in.jsonl"), "--db", db));
        Assert.Equal(0, await Run("pairs", "import", F("in.jsonl"), "--db", db));
        Assert.Equal(0, await Run("pairs", "list", "--db", db, "--text", "dogs", "--sort", "gap", "--limit", "5"));
        Assert.Equal(0, await Run("pairs", "show", "1", "--db", db));
        Assert.Equal(0, await Run("pairs", "stats", "--db", db, "--plot", F("plots")));
        Assert.True(File.Exists(F("plots/severity.png")));
        Assert.Equal(0, await Run("pairs", "export", "--db", db, "--format", "llava-mod", "--out", F("out.json")));
        Assert.Equal(0, await Run("pairs", "export", "--db", db, "--format", "trl", "--out", F("out.parquet")));
        Assert.True(new FileInfo(F("out.parquet")).Length > 0);
        var exported = JsonDocument.Parse(File.ReadAllText(F("out.json"))).RootElement;
        Assert.Equal(2, exported.GetArrayLength());
        Assert.Equal(-9.25, exported[0].GetProperty("ref_rejected_logps").GetDouble());
        Assert.Equal(0, await Run("pairs", "verify", "--db", db));
        using var store = PairStore.Open(db, readOnly: true);
        Assert.Equal(2, store.CountPairs(new PairQuery()));
    }

    [Fact]
    public async Task User_errors_exit_with_1()
    {
        Assert.Equal(1, await Run("pairs", "list", "--db", F("missing.db")));
        string db = F("pairs.db");
        PairStore.Open(db).Dispose();
        Assert.Equal(1, await Run("pairs", "show", "7", "--db", db));
        Assert.Equal(1, await Run("pairs", "import", F("nothing.json"), "--db", db));
    }
}
