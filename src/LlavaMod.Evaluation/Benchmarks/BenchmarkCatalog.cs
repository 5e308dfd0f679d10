using LlavaMod.Core;
using LlavaMod.Evaluation.Benchmarks.Chair;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>The benchmarks <c>eval score</c> knows by name: the product ones, plus any the host adds (the CLI adds the demo's).</summary>
public sealed class BenchmarkCatalog
{
    readonly List<IBenchmark> _benchmarks = [new PopeBenchmark(), new ChairBenchmark(), new VqaBenchmark(), new GqaBenchmark(), new MmeBenchmark()];

    public BenchmarkCatalog(params IBenchmark[] extra) => _benchmarks.AddRange(extra);

    public IReadOnlyList<IBenchmark> All => _benchmarks;

    public IBenchmark Get(string name) => _benchmarks.FirstOrDefault(b => b.Name == name)
        ?? throw new LlavaModException($"--benchmark {name}: unknown; one of {string.Join(", ", _benchmarks.Select(b => b.Name))}");
}
