using BenchmarkDotNet.Running;
using LlavaMod.Benchmarks.Training;

// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*'   (BenchmarkDotNet suites)
// dotnet run --project tests/LlavaMod.Benchmarks -- lm [--precision bf16] [--moe]   (LM training/generation, one JSON line)
if (args.Length > 0 && args[0] == "lm") return LanguageModelBenchmark.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
