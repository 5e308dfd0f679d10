using System.Diagnostics;
using System.Globalization;
using LlavaMod.Benchmarks.Images;
using LlavaMod.Benchmarks.Shards;
using LlavaMod.Benchmarks.Text;
using LlavaMod.Data.Text;

namespace LlavaMod.Benchmarks;

/// <summary>
/// Ours against the peer by CPU time of this process (all its threads), the two alternating round by
/// round in one process: on a shared machine wall time mostly measures the neighbours, CPU time much
/// less so. Every other round runs the operations in reverse order, and a full collection runs between operations, so that one's garbage is not charged to the
/// next. Prints the median over rounds of the CPU time of one operation, and the ratio.
/// Run: dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --cpu-time [tokenization|images|shards]
/// </summary>
public static class CpuTimeComparison
{
    public static void Run(string what)
    {
        Console.WriteLine($"CPU time per operation, median of alternating rounds; {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        if (what is "all" or "tokenization") Tokenization();
        if (what is "all" or "images") Images();
        if (what is "all" or "shards") Shards();
    }

    static void Tokenization()
    {
        var ours = QwenTokenizer.Load(QwenTokenizer.BundledPath);
        var huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: QwenTokenizer.BundledPath);
        foreach (string text in new[] { "chat", "corpus" })
        {
            string[] lines = TokenizationBenchmarks.LinesOf(text);
            long tokens = lines.Sum(l => (long)ours.Encode(l).Count);
            var result = Compare(rounds: 15, perRound: 3,
                ("ours", () => { long n = 0; foreach (var l in lines) n += ours.Encode(l).Count; return n; }),
                ("Hugging Face (Rust)", () => { long n = 0; foreach (var l in lines) n += huggingFace.Encode(l).Length; return n; }));
            Report($"tokenization, {text} ({lines.Length} lines, {tokens} tokens)", result, seconds => $"{tokens / seconds / 1e3:N0} k tokens/s");
        }
    }

    static void Images()
    {
        foreach (var (w, h) in BenchmarkJpegs.Sizes)
        {
            var bench = new ImagePipelineBenchmarks { Size = $"{w}x{h}" };
            bench.Setup();
            var result = Compare(rounds: 25, perRound: 10, ("ImageProcessor", () => bench.Processor()), ("bare ImageSharp", () => bench.ImageSharpOnly()));
            Report($"image pipeline {w}x{h} (Pillow: peers/pillow_resize.py prints its CPU time)", result, seconds => $"{seconds * 1e3:F1} ms/image");
        }
    }

    static void Shards()
    {
        var bench = new ShardWriteBenchmarks { Rows = 2000 };
        bench.Setup();
        try
        {
            double megabytes = bench.InputBytes / 1e6;
            var result = Compare(rounds: 9, perRound: 1,
                ("ShardWriter", bench.Ours), ("Parquet.Net serializer only", bench.ParquetNetSerializerOnly), ("ParquetSharp", bench.ParquetSharpArrow),
                ("ParquetSharp + fsync + SHA-256", bench.ParquetSharpArrowFsyncSha256));
            Report($"shard write, {bench.Rows} rows, {megabytes:F0} MB", result, seconds => $"{megabytes / seconds:F0} MB/s");
        }
        finally { bench.Cleanup(); }
    }

    /// <summary>CPU seconds of one call of each operation, per round (operations alternate within each round).</summary>
    static List<(string Name, List<double> Seconds)> Compare(int rounds, int perRound, params (string Name, Func<long> Op)[] ops)
    {
        foreach (var (_, op) in ops) for (int i = 0; i < 2; i++) op();   // warm-up (JIT tiers)
        var results = ops.Select(o => (o.Name, Seconds: new List<double>())).ToList();
        using var process = Process.GetCurrentProcess();
        for (int r = 0; r < rounds; r++)
            for (int j = 0; j < ops.Length; j++)
            {
                int k = r % 2 == 0 ? j : ops.Length - 1 - j;   // every other round in reverse order
                // The previous operation's garbage is collected here, not charged to the next one.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                process.Refresh();
                TimeSpan before = process.TotalProcessorTime;
                for (int i = 0; i < perRound; i++) ops[k].Op();
                process.Refresh();
                results[k].Seconds.Add((process.TotalProcessorTime - before).TotalSeconds / perRound);
            }
        return results;
    }

    static void Report(string title, List<(string Name, List<double> Seconds)> results, Func<double, string> rate)
    {
        Console.WriteLine(title);
        double baseline = Median(results[0].Seconds);
        foreach (var (name, seconds) in results)
        {
            double median = Median(seconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-30} {median * 1e3,10:F2} ms CPU  {rate(median),-18} ratio to ours {median / baseline:F2} (min {seconds.Min() * 1e3:F2}, max {seconds.Max() * 1e3:F2})"));
        }
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
