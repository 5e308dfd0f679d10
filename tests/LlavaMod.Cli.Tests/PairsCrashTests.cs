using System.Diagnostics;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Tests;

/// <summary>A real crash: the llavamod process importing pairs is killed mid-import.</summary>
public sealed class PairsCrashTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cli-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Killing_an_import_keeps_whole_batches_only_and_a_rerun_completes_without_duplicates()
    {
        const int rows = 30_000;
        string input = Path.Combine(_dir, "big.jsonl");
        await using (var w = new StreamWriter(input))
            for (int i = 0; i < rows; i++)
                await w.WriteLineAsync(
                    $$"""{"id": "{{i}}", "chosen": [{"from": "human", "value": "question {{i}}"}, {"from": "gpt", "value": "good {{i}}"}], "rejected": [{"from": "human", "value": "question {{i}}"}, {"from": "gpt", "value": "bad {{i}}"}], "ref_chosen_logps": -{{i}}.5}""");
        string db = Path.Combine(_dir, "pairs.db");
        string exe = Path.Combine(AppContext.BaseDirectory, "llavamod");
        var start = new ProcessStartInfo(exe, ["pairs", "import", input, "--db", db]) { RedirectStandardOutput = true, RedirectStandardError = true };

        using (var process = Process.Start(start)!)
        {
            // Wait for the first committed batch, then kill the writer without warning.
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                if (File.Exists(db) && Committed(db) > 0) break;
                await Task.Delay(10);
            }
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        using (var store = PairStore.Open(db, readOnly: true))
        {
            var check = store.Verify();
            Assert.True(check.Ok, string.Join("; ", check.IntegrityProblems));
            long pairs = check.Counts["pairs"];
            Assert.True(pairs > 0 && pairs < rows, $"{pairs} pairs: the import was not killed midway");
            Assert.True(pairs % 1000 == 0, $"{pairs} pairs: a batch of 1000 was half written");
            Assert.Equal(pairs, check.Counts["prompts"]);
            Assert.Equal(2 * pairs, check.Counts["responses"]);
        }

        using (var rerun = Process.Start(start)!)
        {
            await rerun.WaitForExitAsync();
            Assert.Equal(0, rerun.ExitCode);
        }
        using var done = PairStore.Open(db, readOnly: true);
        var counts = done.Verify().Counts;
        Assert.Equal((rows, rows, 2L * rows), (counts["pairs"], counts["prompts"], counts["responses"]));
        Assert.Equal(-(rows - 1) - 0.5, done.EnumerateTrainingPairs(PairSplit.Train).Last().RefChosenLogp);
    }

    static long Committed(string db)
    {
        try
        {
            using var store = PairStore.Open(db, readOnly: true);
            return store.CountPairs(new PairQuery());
        }
        catch (Core.LlavaModException)
        {
            return 0; // not created or not migrated yet
        }
    }
}
