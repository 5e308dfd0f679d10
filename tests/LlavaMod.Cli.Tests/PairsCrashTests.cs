using System.Diagnostics;
using System.Runtime.InteropServices;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Tests;

/// <summary>
/// A real crash: the llavamod process importing pairs is killed mid-import. The input is a named pipe that the test
/// writes 1.5 batches into and then holds open, so the importer has committed exactly one batch of 1000 and waits for
/// more rows when it is killed: the interruption point is fixed, not a matter of timing.
/// </summary>
public sealed class PairsCrashTests : IDisposable
{
    const int BatchRows = 1000; // PairExchange commits one transaction per 1000 rows
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cli-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    static extern int MakeFifo(string path, uint mode);

    static string Row(int i) =>
        $$"""{"id": "{{i}}", "chosen": [{"from": "human", "value": "question {{i}}"}, {"from": "gpt", "value": "good {{i}}"}], "rejected": [{"from": "human", "value": "question {{i}}"}, {"from": "gpt", "value": "bad {{i}}"}], "ref_chosen_logps": -{{i}}.5}""";

    [Fact]
    public async Task Killing_an_import_keeps_whole_batches_only_and_a_rerun_completes_without_duplicates()
    {
        const int rows = 2 * BatchRows + 500;
        string input = Path.Combine(_dir, "big.jsonl"), db = Path.Combine(_dir, "pairs.db");
        Assert.True(MakeFifo(input, Convert.ToUInt32("600", 8)) == 0, $"mkfifo failed: errno {Marshal.GetLastPInvokeError()}");
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"), ["pairs", "import", input, "--db", db])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };

        using (var process = Process.Start(start)!)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            var pipe = new StreamWriter(new FileStream(input, FileMode.Open, FileAccess.Write)); // opens once the importer reads
            for (int i = 0; i < BatchRows + BatchRows / 2; i++) await pipe.WriteLineAsync(Row(i));
            await pipe.FlushAsync();
            // The importer now commits the first batch and blocks on the pipe for the rest of the second: wait for that state.
            while (Committed(db) < BatchRows && !process.HasExited) await Task.Delay(20);
            if (process.HasExited) Assert.Fail($"the import ended early: {await stderr}{await stdout}");
            process.Kill();
            await process.WaitForExitAsync();
            try { pipe.Dispose(); } catch (IOException) { } // the reader is gone
        }

        using (var store = PairStore.Open(db, readOnly: true))
        {
            var check = store.Verify();
            Assert.True(check.Ok, string.Join("; ", check.IntegrityProblems));
            Assert.Equal(BatchRows, check.Counts["pairs"]); // the half-read second batch left nothing behind
            Assert.Equal(BatchRows, check.Counts["prompts"]);
            Assert.Equal(2L * BatchRows, check.Counts["responses"]);
        }

        File.Delete(input);
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, rows).Select(Row));
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
        if (!File.Exists(db)) return 0;
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
