using BenchmarkDotNet.Running;
using LlavaMod.Benchmarks;
using LlavaMod.Benchmarks.Training;

// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*'            (BenchmarkDotNet, wall time)
// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --cpu-time [what]       (CPU time, ours vs peer alternating)
// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --etl [rows] [threads] [images|text]   (whole shard ETL: rows/s, peak RSS)
// dotnet run --project tests/LlavaMod.Benchmarks -- lm [--precision bf16] [--moe] [--activation-checkpointing] [--unfused]   (LM training/generation, one JSON line) | head-probe (the fused head op by op)
// dotnet run --project tests/LlavaMod.Benchmarks -- stage --stage sft|mimic|d2s|pd   (one demo training stage, CPU s per step, one JSON line)
// dotnet run --project tests/LlavaMod.Benchmarks -- answer [--precision bf16] [--export DIR] | answer-probe   (eval answer's generation, answers/s; its ops alone)
// dotnet run --project tests/LlavaMod.Benchmarks -- stage-lengths SHARDS | moe-probe | attention-probe   (the demo's row shapes; MoE layer and attention alone)
// dotnet run --project tests/LlavaMod.Benchmarks -- gemm-probe [preset] [rows...] [--blas]   (a demo step's Linear matmuls alone, oneDNN or BLAS: a floor under the step)
// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- pairs-insert FILE DB    (timed console modes, see Pairs/PairStoreBench.cs)
// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- cache-size              (logit cache bytes/token; id layouts compared)
// the training modes run on the malloc llavamod itself uses (jemalloc where installed; LLAVAMOD_ALLOCATOR=glibc keeps glibc)
if (args.Length > 0 && args[0] is "lm" or "stage" or "answer") LlavaMod.Models.Runtime.ProcessAllocator.UseJemallocWhereInstalled();
if (args.Length > 0 && args[0] == "lm") return LanguageModelBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "stage") return StageBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "answer") return LlavaMod.Benchmarks.Evaluation.AnswerBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "answer-probe") return LlavaMod.Benchmarks.Evaluation.AnswerProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "cache-size") return await LogitCacheSizes.RunAsync();
if (args.Length > 0 && args[0] == "attention-probe") return AttentionProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "head-probe") return HeadProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "gemm-probe") return GemmProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "moe-probe") return MoeProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "stage-lengths") return DemoLengthProbe.Run(args[1..]);
if (args.Length > 0 && args[0].StartsWith("pairs-", StringComparison.Ordinal))
    return LlavaMod.Benchmarks.Pairs.PairStoreBench.RunMode(args);
if (args.Length > 0 && args[0] == "--cpu-time")
{
    CpuTimeComparison.Run(args.Length > 1 ? args[1] : "all");
    return 0;
}
if (args.Length > 0 && args[0] == "--etl")
{
    await EtlRun.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 20_000, args.Length > 2 ? int.Parse(args[2]) : Environment.ProcessorCount,
        withImages: args.Length <= 3 || args[3] != "text");
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
