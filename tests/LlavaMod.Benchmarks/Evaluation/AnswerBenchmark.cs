using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlavaMod.Benchmarks.Training;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Evaluation;

/// <summary>
/// <c>answer [--precision fp32|bf16] [--questions 960] [--batch 64] [--max-new-tokens 40] [--warmup 1] [--threads 1]
/// [--export DIR]</c>: answers per second of <c>eval answer</c>'s generation on the demo student, as
/// <see cref="LlavaMod.Evaluation.Answering.AnswerPass"/> runs it: one <see cref="Autocast"/> scope for the pass, each
/// batch of 64 a <see cref="LlavaBatch"/> of ids and pixel values handed to <see cref="TextGenerator"/> (greedy, KV
/// cache, right-padded splice then left-aligned, stop at the end token or max-new-tokens). Not timed, on both sides:
/// reading the question file, tokenizing, decoding images (the prompts and pixels are <see cref="SyntheticDemoRows"/>'
/// integer formulas) and writing answers. The model is the demo-student preset (random weights, seed 3) compacted to
/// the 55-token subset, with subset token 0 as the end token. The first <c>--warmup</c> batches are not timed (.NET's
/// tiered JIT). With --export, DIR gets weights.safetensors, prompts.json and ours-PRECISION.json (this line, with the
/// generated ids of every question) for peers/llava_answer_bench.py. Prints one JSON line.
/// </summary>
public static class AnswerBenchmark
{
    sealed record Settings
    {
        public string Precision { get; init; } = "fp32";
        public int Questions { get; init; } = 960;
        public int Batch { get; init; } = 64;
        public int MaxNewTokens { get; init; } = 40;
        public int Warmup { get; init; } = 1;
        public int Threads { get; init; } = 1;
        public int Seed { get; init; } = 3;
        public string? Export { get; init; }
    }

    /// <summary>Question g's prompt: a supervised demo row's prompt part (the row shapes of <see cref="SyntheticDemoRows.SftShapes"/>), image at id 9.</summary>
    public static long[] Prompt(VocabSubset subset, long g)
    {
        var (length, supervised) = SyntheticDemoRows.SftShapes[(int)(g * 37 % SyntheticDemoRows.SftShapes.Length)];
        return Enumerable.Range(0, length - supervised).Select(j => j == SyntheticDemoRows.ImageAt
            ? LlavaBatch.ImageTokenIndex : subset.TokenIdAt((int)((g * 31 + j * 17 + 5) % SyntheticDemoRows.SubsetSize))).ToArray();
    }

    public static int Run(string[] args)
    {
        var s = Parse(args);
        var precision = s.Precision switch
        {
            "fp32" => ComputePrecision.Fp32, "bf16" => ComputePrecision.Bf16,
            var other => throw new ArgumentException($"--precision {other}: expected fp32 or bf16"),
        };
        TorchRuntime.SetThreads(s.Threads);
        var subset = SyntheticDemoRows.Subset();
        using var model = Initialization.NewLlava(ModelPresets.Get("demo-student"), s.Seed);
        model.VocabSubset = subset;
        model.LanguageModel.CompactTo(subset);
        model.eval();
        long stop = subset.TokenIdAt(0);
        var prompts = Enumerable.Range(0, s.Questions).Select(g => Prompt(subset, g)).ToArray();
        if (s.Export is not null)
        {
            Directory.CreateDirectory(s.Export);
            SafeTensorsFile.Write(Path.Combine(s.Export, "weights.safetensors"), model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
            File.WriteAllText(Path.Combine(s.Export, "prompts.json"), JsonSerializer.Serialize(new { prompts, stop_token_ids = new[] { stop }, subset = subset.TokenIds }));
        }
        var options = new GenerationOptions { MaxNewTokens = s.MaxNewTokens, StopTokenIds = [stop] };

        var batches = prompts.Select((p, g) => (p, g)).Chunk(s.Batch).ToArray();
        var generated = new List<GeneratedSequence>();
        var process = Process.GetCurrentProcess();
        double cpu = 0, wall = 0;
        int timedAnswers = 0;
        using (Autocast.Enter(precision)) // as AnswerPass: one scope for the pass
            for (int i = 0; i < batches.Length; i++)
            {
                process.Refresh();
                var cpuStart = process.TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    var batch = new LlavaBatch
                    {
                        InputIds = batches[i].Select(q => q.p).ToArray(),
                        PixelValues = stack(batches[i].Select(q => SyntheticDemoRows.Pixels(q.g)).ToArray()),
                    };
                    generated.AddRange(TextGenerator.Generate(model, batch, options).OrderBy(g => g.PromptIndex));
                }
                process.Refresh();
                if (i < s.Warmup && batches.Length > s.Warmup) continue;
                cpu += (process.TotalProcessorTime - cpuStart).TotalSeconds;
                wall += clock.Elapsed.TotalSeconds;
                timedAnswers += batches[i].Length;
            }

        var result = new Dictionary<string, object>
        {
            ["impl"] = "llavamod-torchsharp-0.107", ["precision"] = s.Precision, ["threads"] = s.Threads, ["malloc"] = LlavaMod.Models.Runtime.ProcessAllocator.Name, ["mkl"] = LlavaMod.Models.Runtime.MklDispatch.State, ["questions"] = s.Questions,
            ["batch"] = s.Batch, ["max_new_tokens"] = s.MaxNewTokens, ["timed_answers"] = timedAnswers,
            ["answers_per_s"] = Math.Round(timedAnswers / wall, 2), ["cpu_s_per_answer"] = Math.Round(cpu / timedAnswers, 5),
            ["wall_s"] = Math.Round(wall, 3), ["cpu_s"] = Math.Round(cpu, 3),
            ["mean_new_tokens"] = Math.Round(generated.Average(g => g.TokenIds.Length), 2),
            ["stopped"] = generated.Count(g => g.FinishReason == "stop"),
            ["peak_rss_mb"] = Math.Round(ProcessMemory.PeakRssMb()),
            ["token_ids"] = generated.Select(g => g.TokenIds).ToArray(),
        };
        string line = JsonSerializer.Serialize(result);
        if (s.Export is not null) File.WriteAllText(Path.Combine(s.Export, $"ours-{s.Precision}.json"), line + "\n");
        result.Remove("token_ids");
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    static Settings Parse(string[] args)
    {
        var s = new Settings();
        var o = new ModeOptions(args, "AnswerBenchmark.cs");
        foreach (var name in o.Names())
        {
            s = name switch
            {
                "--precision" => s with { Precision = o.Value() },
                "--questions" => s with { Questions = o.Int() },
                "--batch" => s with { Batch = o.Int() },
                "--max-new-tokens" => s with { MaxNewTokens = o.Int() },
                "--warmup" => s with { Warmup = o.Int() },
                "--threads" => s with { Threads = o.Int() },
                "--seed" => s with { Seed = o.Int() },
                "--export" => s with { Export = o.Value() },
                var other => throw o.Unknown(other),
            };
        }
        return s;
    }
}
