using System.Diagnostics;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Evaluation;

/// <summary>
/// <c>answer-probe [repeats]</c>: CPU microseconds per call of the ops of one decoding step of the demo student at batch
/// 64 (<see cref="AnswerBenchmark"/>'s shapes), fp32 and inside a bf16 <see cref="Autocast"/> scope: each Linear of a
/// layer and the compact head through <see cref="Autocast.Linear"/>, and <see cref="Autocast.Attention"/> of one new
/// query over 60 cached positions. One thread. peers/llava_answer_bench.py --probe times PyTorch 1.13's counterparts.
/// </summary>
public static class AnswerProbe
{
    public static int Run(string[] args)
    {
        int repeats = args.Length > 0 ? int.Parse(args[0]) : 2000;
        TorchRuntime.SetThreads(1);
        using var generator = new Generator(1);
        var shapes = new (string Name, int In, int Out)[] { ("q_proj", 96, 96), ("k_proj", 96, 48), ("o_proj", 96, 96), ("gate_proj", 96, 256), ("down_proj", 256, 96), ("head", 96, 55) };
        foreach (var precision in new[] { ComputePrecision.Fp32, ComputePrecision.Bf16 })
        {
            using var autocast = Autocast.Enter(precision);
            using var noGrad = no_grad();
            var parts = new List<string>();
            foreach (var (name, inFeatures, outFeatures) in shapes)
            {
                using var layer = nn.Linear(inFeatures, outFeatures);
                var x = randn([64, 1, inFeatures], generator: generator);
                parts.Add($"{name} {Time(() => Autocast.Linear(layer, x), repeats):F1}");
            }
            var dtype = Autocast.ComputeDtype(ScalarType.Float32);
            var q = randn([64, 2, 1, 48], generator: generator).to(dtype);
            var k = randn([64, 2, 60, 48], generator: generator).to(dtype);
            var v = randn([64, 2, 60, 48], generator: generator).to(dtype);
            var mask = zeros([64, 1, 1, 60]);
            parts.Add($"attention {Time(() => Autocast.Attention(q, k, v, mask), repeats):F1}");
            Console.WriteLine($"{precision.ToString().ToLowerInvariant()} (CPU us per call): {string.Join(", ", parts)}");
        }
        return 0;
    }

    static double Time(Func<Tensor> op, int repeats)
    {
        for (int i = 0; i < repeats / 10; i++) using (NewDisposeScope()) op();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var start = process.TotalProcessorTime;
        for (int i = 0; i < repeats; i++) using (NewDisposeScope()) op();
        process.Refresh();
        return (process.TotalProcessorTime - start).TotalMicroseconds / repeats;
    }
}
