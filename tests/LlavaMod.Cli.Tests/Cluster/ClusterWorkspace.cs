using System.Diagnostics;
using System.Text.Json;
using LlavaMod.Cli.Tests.EndToEnd;
using LlavaMod.Data.Text;

namespace LlavaMod.Cli.Tests.Cluster;

/// <summary>
/// Demo data cut into many small shards (120 supervised rows in 5 shards, 90 mining rows in 9), the
/// demo teacher, and a helper that runs llavamod as separate processes, as a Slurm array or an
/// Indexed Job does. Made once per test class.
/// </summary>
public sealed class ClusterWorkspace : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("llavamod-cluster-").FullName;
    public string Raw => Path.Combine(Root, "raw");
    public string TrainShards => Path.Combine(Root, "shards", "train");
    public string MineShards => Path.Combine(Root, "shards", "mine");
    public string Teacher => Path.Combine(Root, "teacher");
    public const int Workers = 3;

    readonly Lazy<string> _samples;

    public ClusterWorkspace()
    {
        DemoWorkspace.Llavamod("demo-data", "--out", Raw, "--train", "40", "--val", "0", "--test", "0", "--mine", "30", "--seed", "5");
        DemoWorkspace.Llavamod("shard", "--input", Path.Combine(Raw, "train", "conversations.json"), "--image-root", Path.Combine(Raw, "train"),
            "--tokenizer", QwenTokenizer.BundledPath, "--template", "qwen", "--out", TrainShards, "--threads", "1", "--shard-rows", "24");
        DemoWorkspace.Llavamod("shard", "--input", Path.Combine(Raw, "mine", "conversations.json"), "--image-root", Path.Combine(Raw, "mine"),
            "--template", "qwen", "--out", MineShards, "--threads", "1", "--shard-rows", "10");
        DemoWorkspace.Llavamod("model", "init", "--preset", "demo-teacher", "--out", Teacher, "--seed", "1",
            "--tokenizer", Path.GetDirectoryName(QwenTokenizer.BundledPath)!, "--vocab-subset-from", TrainShards, "--vocab-subset-from", MineShards);
        _samples = new Lazy<string>(() =>
        {
            string dir = NewDir("samples-for-mining");
            Run(SampleArgs(Path.Combine(dir, "samples"))).EnsureSuccess();
            return Path.Combine(dir, "samples");
        });
    }

    /// <summary>Samples of the mining shards by one process (the input of the pair verbs).</summary>
    public string Samples => _samples.Value;

    public string[] SampleArgs(string output) =>
        ["teacher", "sample", "--model", Teacher, "--data", MineShards, "--out", output, "--samples", "4", "--temperature", "1.2", "--max-new-tokens", "12", "--threads", "1"];

    public string NewDir(string name) => Directory.CreateDirectory(Path.Combine(Root, name + "-" + Guid.NewGuid().ToString("N")[..6])).FullName;

    public sealed record Result(int Code, string Output, string Command)
    {
        public Result EnsureSuccess()
        {
            Assert.True(Code == 0, $"llavamod {Command} exited with {Code}:\n{Output}");
            return this;
        }
    }

    /// <summary>Runs llavamod as its own process (the built apphost) and waits for it.</summary>
    public static Result Run(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(args, environment).GetAwaiter().GetResult();

    /// <summary>Starts the <paramref name="count"/> workers at once and waits for all of them.</summary>
    public static Result[] RunConcurrently(int count, Func<int, IReadOnlyList<string>> args) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Start(args(i), null))).GetAwaiter().GetResult();

    static async Task<Result> Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"), args)
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var name in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "LLAVAMOD_WORKERS" })
            start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new Result(process.ExitCode, await stdout + await stderr, string.Join(' ', args));
    }

    /// <summary>Every file under <paramref name="dir"/> (relative path → bytes), lock files left out.</summary>
    public static SortedDictionary<string, byte[]> Files(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes), StringComparer.Ordinal);

    public static void AssertSameFiles(string expected, string actual)
    {
        var (a, b) = (Files(expected), Files(actual));
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, bytes) in a)
            Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"{name} differs between {expected} and {actual}");
    }

    /// <summary>A LLaVA-MoD preference file of the mining conversations (chosen = the row's answer, rejected =
    /// the next row's), without reference log-probs: what 'pairs reference' exists for.</summary>
    public string ImportFile()
    {
        string file = Path.Combine(NewDir("import"), "pairs.jsonl");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Raw, "mine", "conversations.json")));
        var rows = doc.RootElement.EnumerateArray().ToList();
        using var writer = new StreamWriter(file);
        for (int i = 0; i < rows.Count; i++)
        {
            var turns = rows[i].GetProperty("conversations");
            string human = turns[0].GetProperty("value").GetString()!, answer = turns[1].GetProperty("value").GetString()!;
            string other = rows[(i + 1) % rows.Count].GetProperty("conversations")[1].GetProperty("value").GetString()!;
            if (answer == other) continue;
            writer.WriteLine(JsonSerializer.Serialize(new
            {
                id = rows[i].GetProperty("id").GetString(), image = rows[i].GetProperty("image").GetString(),
                chosen = new[] { new { from = "human", value = human }, new { from = "gpt", value = answer } },
                rejected = new[] { new { from = "human", value = human }, new { from = "gpt", value = other } },
            }));
        }
        return file;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
