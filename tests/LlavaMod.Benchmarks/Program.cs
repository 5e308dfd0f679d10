using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*'
// Timed console modes: dotnet run --project tests/LlavaMod.Benchmarks -- pairs-insert FILE DB (see Pairs/PairStoreBench.cs)
if (args.Length > 0 && args[0].StartsWith("pairs-", StringComparison.Ordinal))
    return LlavaMod.Benchmarks.Pairs.PairStoreBench.RunMode(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
