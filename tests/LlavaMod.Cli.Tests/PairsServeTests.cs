using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Tests;

/// <summary>
/// <c>pairs serve</c> as a process: prints its loopback URL, serves the pages, stops on SIGTERM; by default the
/// operating system shows it listening on loopback only, and another address of this machine is refused.
/// </summary>
public sealed class PairsServeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cli-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Db()
    {
        string db = Path.Combine(_dir, "pairs.db");
        if (File.Exists(db)) return db;
        using (var store = PairStore.Open(db))
        {
            long run = store.CreateRun(new RunInfo("serve-run", "t", "1", "s", "1", "c", "1"));
            store.AddMinedBatch(run, [new MinedPrompt(new PromptRecord("k", "What is here?"),
                [new ResponseRecord("A red bus.", Score: 0), new ResponseRecord("A red bus with wings.", Score: -1)], [new PairRecord(0, 1)])]);
        }
        return db;
    }

    /// <summary>Starts <c>pairs serve</c> with <paramref name="extra"/> options; returns the process and the port it printed.</summary>
    async Task<(Process Process, int Port, string Line)> Serve(params string[] extra)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"), ["pairs", "serve", "--db", Db(), "--port", "0", .. extra])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? "";
        var port = Regex.Match(line, @"serving http://[^:]+:(\d+)");
        if (!port.Success) { process.Kill(); Assert.Fail($"no URL in '{line}'"); }
        return (process, int.Parse(port.Groups[1].Value), line);
    }

    /// <summary>Local addresses of the listening TCP sockets on <paramref name="port"/>, from /proc/net/tcp and tcp6.</summary>
    static List<IPAddress> ListeningOn(int port)
    {
        var addresses = new List<IPAddress>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = fields[1].Split(':');
                if (fields[3] != "0A" || Convert.ToInt32(local[1], 16) != port) continue; // 0A: LISTEN
                var bytes = Convert.FromHexString(local[0]);
                for (int i = 0; i < bytes.Length; i += 4) Array.Reverse(bytes, i, 4); // each 32-bit word is in host (little-endian) order
                addresses.Add(new IPAddress(bytes));
            }
        return addresses;
    }

    static IPAddress? OtherAddressOfThisMachine() => System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
        .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    static async Task<bool> Accepts(IPAddress address, int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try { await client.ConnectAsync(address, port); return true; }
        catch (System.Net.Sockets.SocketException) { return false; }
    }

    static void Stop(Process process)
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        process.Dispose();
    }

    [Fact]
    public async Task By_default_only_loopback_listens_and_another_address_of_the_machine_is_refused()
    {
        var (process, port, _) = await Serve();
        try
        {
            var listening = ListeningOn(port);
            Assert.NotEmpty(listening);
            Assert.All(listening, a => Assert.True(IPAddress.IsLoopback(a), $"listening on {a}"));
            Assert.True(await Accepts(IPAddress.Loopback, port));
            if (OtherAddressOfThisMachine() is { } other) Assert.False(await Accepts(other, port), $"{other}:{port} accepted a connection");
        }
        finally { Stop(process); }

        // The same checks see a server that does listen everywhere (so they can fail).
        var (open, openPort, _) = await Serve("--host", "0.0.0.0");
        try
        {
            Assert.Contains(ListeningOn(openPort), a => !IPAddress.IsLoopback(a));
            if (OtherAddressOfThisMachine() is { } other) Assert.True(await Accepts(other, openPort));
        }
        finally { Stop(open); }
    }

    [Fact]
    public async Task Serves_the_pair_pages_on_loopback_until_terminated()
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"),
            ["pairs", "serve", "--db", Db(), "--image-root", _dir, "--port", "0"]) { RedirectStandardOutput = true, RedirectStandardError = true };
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
