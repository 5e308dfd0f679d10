using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Tests;

/// <summary><c>pairs serve</c> as a process: prints its loopback URL, serves the pages, stops on SIGTERM.</summary>
public sealed class PairsServeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cli-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serves_the_pair_pages_on_loopback_until_terminated()
    {
        string db = Path.Combine(_dir, "pairs.db");
        using (var store = PairStore.Open(db))
        {
            long run = store.CreateRun(new RunInfo("serve-run", "t", "1", "s", "1", "c", "1"));
            store.AddMinedBatch(run, [new MinedPrompt(new PromptRecord("k", "What is here?"),
                [new ResponseRecord("A red bus.", Score: 0), new ResponseRecord("A red bus with wings.", Score: -1)], [new MinedPair(0, 1)])]);
        }
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"),
            ["pairs", "serve", "--db", db, "--image-root", _dir, "--port", "0"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var url = Regex.Match(line ?? "", @"serving (http://127\.0\.0\.1:(\d+))");
            Assert.True(url.Success, $"no loopback URL in '{line}'");
            Assert.NotEqual("0", url.Groups[2].Value);
            using var client = new HttpClient { BaseAddress = new Uri(url.Groups[1].Value) };
            string html = await client.GetStringAsync("/pairs/1");
            Assert.Contains("A red bus with wings.", html);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/pairs/2")).StatusCode);

            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString()])) await term.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
