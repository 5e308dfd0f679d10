using BenchmarkDotNet.Running;
using LlavaMod.Benchmarks;

// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*'            (BenchmarkDotNet, wall time)
// dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --cpu-time [what]       (CPU time, ours vs peer alternating)
if (args.Length > 0 && args[0] == "--cpu-time")
{
    CpuTimeComparison.Run(args.Length > 1 ? args[1] : "all");
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
