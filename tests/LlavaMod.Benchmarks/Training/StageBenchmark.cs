using LlavaMod.Data.Text;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlavaMod.Models;
using LlavaMod.Models.IO;
using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.LogitCache;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Optimization;
using LlavaMod.Training.Stages;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>stage --stage sft|mimic|d2s|pd [--steps 60] [--warmup 40] [--threads 1] [--export DIR]</c>: CPU seconds per
/// training step of one demo stage at the demo's sizes (pipelines/demo.json), through the trainer's own pieces:
/// the preset model, <see cref="MoeUpcycler"/> (d2s, pd), <see cref="Qwen2ForCausalLM.CompactTo"/>, the stage's default
/// trainable patterns, <see cref="AdamWSetup"/>, the stage objective (<see cref="SupervisedObjective"/> reading a real
/// logit cache, <see cref="PreferenceObjective"/>), global-norm clipping, as <see cref="StageTrainer"/>'s step does
/// (without its schedule, metrics file and checkpoints; lr constant). Rows are <see cref="SyntheticDemoRows"/> with
/// prepared pixels (no image decoding). Prints one JSON line; with --export, the initial weights go to
/// DIR/weights.safetensors and the result line to DIR/ours.json, for peers/llava_stage_bench.py to start from and
/// compare its losses with.
/// </summary>
public static class StageBenchmark
{
    /// <summary>
    /// Run settings; the batch sizes and learning rates default to pipelines/demo.json's. 40 warm-up steps: .NET's tiered
    /// JIT keeps recompiling hot managed code for about that long, and its background compilations count as CPU time.
    /// </summary>
    public sealed record Settings
    {
        public string Stage { get; init; } = "sft";
        public int Steps { get; init; } = 60;
        public int Warmup { get; init; } = 40;
        public int Threads { get; init; } = 1;
        public int Batch { get; init; } = 64;
        public int Pairs { get; init; } = 32;
        public int Seed { get; init; } = 3;
        public string? Export { get; init; }
    }

    public static int Run(string[] args)
    {
        var s = Parse(args);
        TorchRuntime.SetThreads(s.Threads);
        var stage = s.Stage switch
        {
            "sft" => StageKind.Sft, "mimic" => StageKind.Mimic, "d2s" => StageKind.D2s, "pd" => StageKind.Pd,
            var other => throw new ArgumentException($"--stage {other}: expected sft, mimic, d2s or pd"),
        };
        var defaults = new StageConfig();
        var (preset, lr, loss) = stage switch
        {
            StageKind.Sft => ("demo-teacher", 2e-3, new LossConfig()),
            StageKind.Mimic => ("demo-student", 2e-3, new LossConfig()),
            StageKind.D2s => ("demo-student", 1e-3, new LossConfig { CeWeight = 1, AuxWeight = 0.01 }),
            _ => ("demo-student", 2e-4, new LossConfig { Preference = PreferenceLossType.Sigmoid, Beta = 0.1, RpoWeight = 1 }),
        };

        var subset = SyntheticDemoRows.Subset();
        using var model = Initialization.NewLlava(ModelPresets.Get(preset), s.Seed);
        model.VocabSubset = subset;
        if (stage is StageKind.D2s or StageKind.Pd)
        {
            using var generator = new Generator((ulong)s.Seed);
            MoeUpcycler.Upcycle(model, defaults.Moe, generator); // as StageRunner's d2s; pd trains the d2s model
        }
        model.LanguageModel.CompactTo(subset);
        var patterns = StageDefaults.TrainablePatterns(stage, model.Config.Text.TieWordEmbeddings);
        var selection = TrainableParameters.Select(StageTrainer.HuggingFaceNamed(model), new ParameterPatterns(patterns));
        using var optimizer = AdamWSetup.Create(selection.Trainable, new AdamWSettings(lr, defaults.WeightDecay, defaults.AdamBetas[0], defaults.AdamBetas[1]));
        var trainable = selection.Trainable.Select(p => p.Parameter).ToList();
        if (s.Export is not null)
        {
            Directory.CreateDirectory(s.Export);
            SafeTensorsFile.Write(Path.Combine(s.Export, "weights.safetensors"), model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
        }

        // Data outside the timed region, as the trainer's prefetcher prepares it ahead.
        var batches = new List<LlavaMod.Training.Data.TrainingBatch>();
        for (int step = 0; step < s.Steps; step++)
            batches.Add(stage == StageKind.Pd ? SyntheticDemoRows.PairBatch(subset, step, s.Pairs) : SyntheticDemoRows.SftBatch(subset, step, s.Batch));
        string? cacheDir = null;
        if (stage is StageKind.Mimic or StageKind.D2s)
        {
            cacheDir = Path.Combine(Path.GetTempPath(), $"llavamod-stage-bench-{Environment.ProcessId}");
            SyntheticTeacherCache.Write(cacheDir, subset, batches.SelectMany(b => b.Sequences));
        }
        using IStageObjective objective = stage == StageKind.Pd
            ? new PreferenceObjective(loss)
            : new SupervisedObjective(loss, cacheDir is null ? null : LogitCacheSet.Open(cacheDir),
                stage == StageKind.D2s ? m => MoeModelRouting.TotalAuxLoss(m.LanguageModel) : null);

        var device = torch.CPU;
        var process = Process.GetCurrentProcess();
        var (losses, wall, cpu, supervised, gradNorms) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var phases = new List<double[]>(); // CPU s of loss (forward + objective), backward, clipping, AdamW + zero_grad (+ scope disposal)
        var tensorsCreated = new List<long>(); // managed Tensor objects a step creates (≈ libtorch ops called from .NET)
        var statistics = DisposeScopeManager.Statistics;
        long Created() => statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
        model.train();
        foreach (var batch in batches)
        {
            long createdBefore = Created();
            process.Refresh();
            var cpuStart = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var marks = new double[5];
            void Mark(int i) { process.Refresh(); marks[i] = (process.TotalProcessorTime - cpuStart).TotalSeconds; }
            using (var scope = NewDisposeScope())
            {
                Tensor total;
                StepMetrics values;
                using (Autocast.Enter(ComputePrecision.Fp32)) (total, values) = objective.Compute(model, batch, device);
                Mark(1);
                total.backward();
                Mark(2);
                gradNorms.Add(GradientClipping.ClipGlobalNorm(trainable, defaults.MaxGradNorm));
                Mark(3);
                optimizer.step();
                optimizer.zero_grad();
                losses.Add(values.Loss);
                supervised.Add(values.Tokens);
            }
            wall.Add(clock.Elapsed.TotalSeconds);
            Mark(4);
            cpu.Add(marks[4]);
            phases.Add(Enumerable.Range(1, 4).Select(i => marks[i] - marks[i - 1]).ToArray());
            tensorsCreated.Add(Created() - createdBefore);
        }
        double peakRss = ProcessMemory.PeakRssMb();
        double? cacheReadCpu = null;
        if (cacheDir is not null)
        {
            // the share of a mimic/d2s step spent reading its 64 teacher rows from the Parquet cache (as TeacherTensors does)
            var cache = LogitCacheSet.Open(cacheDir);
            process.Refresh();
            var start = process.TotalProcessorTime;
            foreach (var batch in batches.Skip(s.Warmup)) foreach (var row in batch.Sequences) cache.Read(row.Key);
            process.Refresh();
            cacheReadCpu = (process.TotalProcessorTime - start).TotalSeconds / Math.Max(1, s.Steps - s.Warmup);
            cache.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Directory.Delete(cacheDir, recursive: true);
        }

        int patches = model.Config.Vision.NumPatches;
        var inputTokens = batches.Select(b => (double)b.Sequences.Sum(e => e.InputIds.Length + (patches - 1) * e.InputIds.Count(id => id == LlavaBatch.ImageTokenIndex))).ToList();
        var measured = Enumerable.Range(0, s.Steps).Skip(s.Warmup).DefaultIfEmpty(s.Steps - 1).ToArray();
        double cpuPerStep = measured.Average(i => cpu[i]);
        var result = new Dictionary<string, object>
        {
            ["impl"] = "llavamod-torchsharp-0.107", ["stage"] = s.Stage, ["preset"] = preset, ["moe"] = model.Config.Text.Moe is not null,
            ["params"] = model.parameters().Sum(p => p.numel()), ["trainable_params"] = selection.TrainableElements,
            ["sequences"] = batches[0].Sequences.Count, ["threads"] = s.Threads, ["malloc"] = LlavaMod.Models.Runtime.ProcessAllocator.Name, ["mkl"] = LlavaMod.Models.Runtime.MklDispatch.State, ["steps"] = s.Steps, ["warmup"] = s.Warmup, ["lr"] = lr,
            ["supervised_tokens_per_step"] = Math.Round(measured.Average(i => supervised[i]), 1),
            ["input_tokens_per_step"] = Math.Round(measured.Average(i => inputTokens[i]), 1),
            ["cpu_s_per_step"] = Math.Round(cpuPerStep, 4), ["cpu_s_per_step_median"] = Math.Round(Median(measured.Select(i => cpu[i])), 4),
            ["phase_cpu_s"] = new[] { "loss", "backward", "clip", "adamw" }.Select((name, p) => (name, p)).ToDictionary(x => x.name, x => Math.Round(measured.Average(i => phases[i][x.p]), 4)), ["wall_s_per_step"] = Math.Round(measured.Average(i => wall[i]), 4),
            ["tensors_created_per_step"] = Math.Round(measured.Average(i => (double)tensorsCreated[i])),
            ["supervised_tokens_per_cpu_s"] = Math.Round(measured.Average(i => supervised[i]) / cpuPerStep, 1),
            ["input_tokens_per_cpu_s"] = Math.Round(measured.Average(i => inputTokens[i]) / cpuPerStep, 1),
            ["step_cpu_s"] = cpu.Select(t => Math.Round(t, 4)).ToArray(), ["step_s"] = wall.Select(t => Math.Round(t, 4)).ToArray(),
            ["losses"] = losses.Select(l => Math.Round(l, 6)).ToArray(), ["grad_norms"] = gradNorms.Select(g => Math.Round(g, 6)).ToArray(),
            ["peak_rss_mb"] = Math.Round(peakRss),
        };
        if (cacheReadCpu is double read) result["teacher_cache_read_cpu_s_per_step"] = Math.Round(read, 4);
        string line = JsonSerializer.Serialize(result);
        if (s.Export is not null) File.WriteAllText(Path.Combine(s.Export, "ours.json"), line + "\n");
        Console.WriteLine(line);
        foreach (var b in batches) foreach (var pixels in b.Pixels ?? []) pixels?.Dispose();
        return 0;
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    static Settings Parse(string[] args)
    {
        var s = new Settings();
        var o = new ModeOptions(args, "StageBenchmark.cs");
        foreach (var name in o.Names())
        {
            s = name switch
            {
                "--stage" => s with { Stage = o.Value() },
                "--steps" => s with { Steps = o.Int() },
                "--warmup" => s with { Warmup = o.Int() },
                "--threads" => s with { Threads = o.Int() },
                "--batch" => s with { Batch = o.Int() },
                "--pairs" => s with { Pairs = o.Int() },
                "--seed" => s with { Seed = o.Int() },
                "--export" => s with { Export = o.Value() },
                var other => throw o.Unknown(other),
            };
        }
        return s;
    }
}
