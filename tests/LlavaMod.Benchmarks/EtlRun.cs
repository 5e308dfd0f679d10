using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlavaMod.Benchmarks.Images;
using LlavaMod.Benchmarks.Text;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Images;
using LlavaMod.Data.Sources;
using LlavaMod.Data.Text;
using ResizeMode = LlavaMod.Data.Images.ResizeMode;

namespace LlavaMod.Benchmarks;

/// <summary>
/// The whole shard ETL on a generated LLaVA-style JSONL (the ShardPipeline the CLI's `shard` verb
/// runs, real tokenizer, ChatML template, shortest-side crop to 336): 7 rows in 8 reference one of 32
/// distinct 640×480 JPEGs, the rest are text-only ("text": every row text-only, to see the text path
/// alone). Prints rows/s (wall and per CPU-second) and the process's peak RSS.
/// Run: dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --etl [rows] [threads] [images|text]
/// </summary>
public static class EtlRun
{
    public static async Task RunAsync(int rows, int threads, bool withImages)
    {
        string root = Directory.CreateTempSubdirectory("llavamod-etlbench").FullName;
        try
        {
            string input = WriteInput(root, rows, withImages);
            var tokenizer = QwenTokenizer.Load(QwenTokenizer.BundledPath);
            var encoder = new TemplateConversationEncoder(tokenizer, ChatTemplateKind.ChatMl, systemPrompt: null, maxTokens: 2048, OverLengthPolicy.Reject);
            var images = new ProcessorImageStage(new ImageProcessor(new ImageOptions { Mode = ResizeMode.ShortestCrop, Size = 336 }));
            var options = new ShardJobOptions
            {
                Inputs = SourceInput.Resolve([input], null, [Path.Combine(root, "images")]),
                OutputDir = Path.Combine(root, "out"),
                Threads = threads,
            };
            using var process = Process.GetCurrentProcess();
            TimeSpan cpuBefore = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var manifest = await new ShardPipeline(options, encoder, images).RunAsync();
            clock.Stop();
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds, wall = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ETL {rows} rows ({(withImages ? "7 in 8 with a 640x480 JPEG" : "text only")}), {threads} threads: {manifest.Rows} written in {wall:F1} s wall ({rows / wall:N0} rows/s), " +
                $"{cpu:F1} s CPU ({rows / cpu:N0} rows per CPU-second), peak RSS {(long)ProcessMemory.PeakRssMb()} MB; load average {File.ReadAllText("/proc/loadavg")[..14]}"));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    static string WriteInput(string root, int rows, bool withImages)
    {
        string images = Directory.CreateDirectory(Path.Combine(root, "images")).FullName;
        for (int k = 0; k < 32; k++) File.WriteAllBytes(Path.Combine(images, $"{k:D2}.jpg"), BenchmarkJpegs.Encode(640, 480, seed: (uint)k + 1));
        string path = Path.Combine(root, "llava.jsonl");
        using var writer = new StreamWriter(path);
        int i = 0;
        foreach (string conversation in ConversationLines.Enumerate(rows))   // ChatML text: take the question and answer back out
        {
            string[] parts = conversation.Split("<|im_end|>\n<|im_start|>assistant\n");
            string question = parts[0]["<|im_start|>user\n<image>\n".Length..], answer = parts[1][..^"<|im_end|>\n".Length];
            bool withImage = withImages && i % 8 != 7;
            var row = new Dictionary<string, object> { ["id"] = $"row{i}" };
            if (withImage) row["image"] = $"{i % 32:D2}.jpg";
            row["conversations"] = new[]
            {
                new { from = "human", value = (withImage ? "<image>\n" : "") + question },
                new { from = "gpt", value = answer },
            };
            writer.WriteLine(JsonSerializer.Serialize(row));
            i++;
        }
        return path;
    }
}
