using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>dotnet run --project tests/LlavaMod.Benchmarks -- lm [--precision fp32|bf16] [--moe] [--activation-checkpointing] [--unfused] [--steps 20] …</c>:
/// training tokens/s (forward + backward + AdamW step) of a Qwen2-like LM with the real 151,936-id tied
/// vocabulary, dense or with every other layer a top-2-of-4 MoE, through the trainer's fused head + cross-entropy
/// (<see cref="ChunkedHeadLoss"/>; <c>--unfused</c>: materialised logits and cross_entropy), then greedy KV-cache
/// generation tokens/s, the peak RSS of each phase, and the CPU seconds of a step's phases. Prints one JSON line; peers/qwen2_lm_bench.py is the PyTorch peer with the
/// same shapes, data (<see cref="SyntheticTokens"/>), initialisation (N(0, 0.02)) and optimizer.
/// A console mode, not BenchmarkDotNet: one step takes seconds and each configuration needs its own process
/// for a meaningful peak RSS.
/// </summary>
public static class LanguageModelBenchmark
{
    /// <summary>Shapes and run length (defaults fit 2 cores: hidden 256, 4 layers, batch 4 × 256 tokens).</summary>
    public sealed record Settings
    {
        public string Precision { get; init; } = "fp32";
        public bool Moe { get; init; }
        public bool ActivationCheckpointing { get; init; }
        /// <summary>Materialise the (B, T, V) logits and call cross_entropy (the path before the fused head), for comparison.</summary>
        public bool Unfused { get; init; }
        public int Vocab { get; init; } = 151936;
        public int Hidden { get; init; } = 256;
        public int Intermediate { get; init; } = 1024;
        public int Layers { get; init; } = 4;
        public int Heads { get; init; } = 4;
        public int KvHeads { get; init; } = 2;
        public int Experts { get; init; } = 4;
        public int Batch { get; init; } = 4;
        public int Seq { get; init; } = 256;
        public int Steps { get; init; } = 20;
        public int Warmup { get; init; } = 5;
        public double Lr { get; init; } = 1e-3;
        public int Threads { get; init; } = 2;
        public int GenPrompt { get; init; } = 32;
        public int GenTokens { get; init; } = 64;
        public int Seed { get; init; }
    }

    public static int Run(string[] args)
    {
        var s = Parse(args);
        TorchRuntime.SetThreads(s.Threads);
        var precision = ComputePrecisions.Parse(s.Precision, "--precision");
        var config = new Qwen2Config
        {
            VocabSize = s.Vocab, HiddenSize = s.Hidden, IntermediateSize = s.Intermediate, NumHiddenLayers = s.Layers,
            NumAttentionHeads = s.Heads, NumKeyValueHeads = s.KvHeads, TieWordEmbeddings = true, RopeTheta = 1e6, RmsNormEps = 1e-6,
            // capacity factor 2 with top-2 of 4: capacity = N, nothing is dropped (the peer has no capacity limit)
            Moe = s.Moe ? new MoeConfig { NumExperts = s.Experts, TopK = 2, CapacityFactor = 2.0, EvalCapacityFactor = 2.0 } : null,
        };
        using var model = new Qwen2ForCausalLM(config);
        Initialization.Apply(model, 0.02, s.Seed);
        model.Model.ActivationCheckpointing = s.ActivationCheckpointing;
        long parameters = model.parameters().Sum(p => p.numel());

        var (losses, times, cpuTimes, phases, trainPeak) = Train(model, s, precision);
        var measuredPhases = phases.Skip(s.Warmup).DefaultIfEmpty(phases[^1]).ToArray();
        var measured = times.Skip(s.Warmup).DefaultIfEmpty(times.Average()).ToArray();
        double trainTokensPerSecond = s.Batch * s.Seq / measured.Average();

        GC.Collect();
        ResetPeakRss();
        double genTokensPerSecond = Generate(model, s, precision);

        var result = new Dictionary<string, object>
        {
            ["impl"] = "llavamod-torchsharp-0.107", ["precision"] = precision.Name(), ["moe"] = s.Moe, ["activation_checkpointing"] = s.ActivationCheckpointing, ["params"] = parameters,
            ["batch"] = s.Batch, ["seq"] = s.Seq, ["threads"] = s.Threads, ["malloc"] = ProcessAllocator.Name, ["mkl"] = MklDispatch.State,
            ["train_tokens_per_s"] = Math.Round(trainTokensPerSecond, 1), ["step_s"] = times.Select(t => Math.Round(t, 3)).ToArray(),
            // CPU seconds per step (all threads): less sensitive than wall time to other processes on a shared machine
            ["step_cpu_s"] = cpuTimes.Select(t => Math.Round(t, 3)).ToArray(),
            // mean CPU seconds per phase over the measured steps
            ["phase_cpu_s"] = new Dictionary<string, double>
            {
                ["decoder_forward"] = Math.Round(measuredPhases.Average(p => p.Decoder), 3), ["head_loss_forward"] = Math.Round(measuredPhases.Average(p => p.HeadLoss), 3),
                ["backward"] = Math.Round(measuredPhases.Average(p => p.Backward), 3), ["adamw"] = Math.Round(measuredPhases.Average(p => p.Optimizer), 3),
            },
            ["loss_path"] = s.Unfused ? "unfused" : "fused",
            ["losses"] = losses.Select(l => Math.Round(l, 4)).ToArray(), ["train_peak_rss_mb"] = Math.Round(trainPeak),
            ["gen_tokens_per_s"] = Math.Round(genTokensPerSecond, 1), ["gen_peak_rss_mb"] = Math.Round(ProcessMemory.PeakRssMb()),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>CPU seconds of one step's phases (all threads): decoder forward, head + loss forward, backward, AdamW.</summary>
    public sealed record StepPhases(double Decoder, double HeadLoss, double Backward, double Optimizer);

    static (List<double> Losses, List<double> Seconds, List<double> CpuSeconds, List<StepPhases> Phases, double PeakRssMb) Train(Qwen2ForCausalLM model, Settings s, ComputePrecision precision)
    {
        using var optimizer = new AdamW(model.parameters(), s.Lr, 0.9, 0.98);
        var losses = new List<double>();
        var times = new List<double>();
        var cpuTimes = new List<double>();
        var phases = new List<StepPhases>();
        var process = Process.GetCurrentProcess();
        double Cpu() { process.Refresh(); return process.TotalProcessorTime.TotalSeconds; }
        model.train();
        for (int step = 0; step < s.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var ids = SyntheticTokens.Batch(step, s.Batch, s.Seq);
            double cpuStart = Cpu();
            var clock = Stopwatch.StartNew();
            Tensor loss, total;
            double decoderDone;
            using (Autocast.Enter(precision))
            {
                var targets = ids[.., 1..].reshape(-1);                                    // (B·(T−1))
                if (s.Unfused)
                {
                    // the naive path, for comparison: (B, T, V) fp32 logits, then cross_entropy
                    var hidden = model.Hidden(ids)[.., ..^1];                               // (B, T−1, D)
                    decoderDone = Cpu();
                    loss = nn.functional.cross_entropy(model.Logits(hidden).reshape(-1, s.Vocab), targets);
                }
                else
                {
                    // the trainer's path: the head fused with the loss, one vocabulary chunk at a time
                    var hidden = model.Hidden(ids)[.., ..^1].reshape(-1, s.Hidden);         // (B·(T−1), D)
                    decoderDone = Cpu();
                    loss = SupervisedCrossEntropy.Compute(ChunkedHeadLoss.Compute(new HeadInputs(hidden, model.HeadMatrix()), new TargetLogProbs(targets)));
                }
                var aux = MoeModelRouting.TotalAuxLoss(model);
                total = aux is null ? loss : loss.Plus(aux.MulScalar(0.01));
            }
            double forwardDone = Cpu();
            total.backward();
            double backwardDone = Cpu();
            optimizer.step();
            optimizer.zero_grad(); // after the step, as StageTrainer and transformers' Trainer do
            times.Add(clock.Elapsed.TotalSeconds);
            double end = Cpu();
            cpuTimes.Add(end - cpuStart);
            phases.Add(new StepPhases(decoderDone - cpuStart, forwardDone - decoderDone, backwardDone - forwardDone, end - backwardDone));
            losses.Add(loss.item<float>());
        }
        return (losses, times, cpuTimes, phases, ProcessMemory.PeakRssMb());
    }

    /// <summary>Greedy generation of GenTokens tokens after a GenPrompt-token prompt, batch 1, KV cache; tokens/s including the prefill.</summary>
    static double Generate(Qwen2ForCausalLM model, Settings s, ComputePrecision precision)
    {
        using var scope = NewDisposeScope();
        long[] prompt = SyntheticTokens.Batch(10_000, 1, s.GenPrompt).data<long>().ToArray();
        var clock = Stopwatch.StartNew();
        using var autocast = Autocast.Enter(precision);
        var generated = TextGenerator.Generate(model, [prompt], new GenerationOptions { MaxNewTokens = s.GenTokens });
        return generated.Sum(g => g.TokenIds.Length) / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Resets VmHWM to the current RSS (Linux ≥ 4.0), so the generation phase reports its own peak.</summary>
    static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static Settings Parse(string[] args)
    {
        var s = new Settings();
        var o = new ModeOptions(args, "LanguageModelBenchmark.cs");
        foreach (var name in o.Names())
        {
            s = name switch
            {
                "--precision" => s with { Precision = o.Value() },
                "--moe" => s with { Moe = true },
                "--activation-checkpointing" => s with { ActivationCheckpointing = true },
                "--unfused" => s with { Unfused = true },
                "--vocab" => s with { Vocab = o.Int() },
                "--hidden" => s with { Hidden = o.Int() },
                "--intermediate" => s with { Intermediate = o.Int() },
                "--layers" => s with { Layers = o.Int() },
                "--heads" => s with { Heads = o.Int() },
                "--kv-heads" => s with { KvHeads = o.Int() },
                "--experts" => s with { Experts = o.Int() },
                "--batch" => s with { Batch = o.Int() },
                "--seq" => s with { Seq = o.Int() },
                "--steps" => s with { Steps = o.Int() },
                "--warmup" => s with { Warmup = o.Int() },
                "--lr" => s with { Lr = o.Double() },
                "--threads" => s with { Threads = o.Int() },
                "--gen-prompt" => s with { GenPrompt = o.Int() },
                "--gen-tokens" => s with { GenTokens = o.Int() },
                "--seed" => s with { Seed = o.Int() },
                var other => throw o.Unknown(other),
            };
        }
        return s;
    }
}
