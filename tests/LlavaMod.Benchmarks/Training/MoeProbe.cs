using System.Diagnostics;
using LlavaMod.Models;
using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>moe-probe [tokens hidden intermediate] [repeats]</c>: CPU milliseconds of forward (with <see cref="TopKGating"/>
/// and the routing summary) and of backward through the d2s stage's <see cref="MoeLayer"/> (4 experts, top-2,
/// capacity factor 1.5, min capacity 4) at the demo student's shapes (2,944 positions = 64 rows × 46, width 96,
/// SwiGLU 256), sum of outputs + aux as the loss. peers/llava_stage_bench.py's MoeLayer at the same shapes:
/// <c>llava_stage_bench.py --moe-probe</c>. One thread.
/// </summary>
public static class MoeProbe
{
    public static int Run(string[] args)
    {
        int[] shape = args.Length >= 3 ? args[..3].Select(int.Parse).ToArray() : [2944, 96, 256];
        int repeats = args.Length >= 4 ? int.Parse(args[3]) : 100;
        TorchRuntime.SetThreads(1);
        var (n, d, i) = (shape[0], shape[1], shape[2]);
        using var layer = new MoeLayer(d, new MoeLayerOptions { NumExperts = 4, TopK = 2, CapacityFactor = 1.5, MinCapacity = 4 }, _ => new Qwen2Mlp(d, i));
        Initialization.Apply(layer, 0.1, 1);
        layer.train();
        using var generator = new Generator(2);
        var x = randn([n, d], generator: generator).requires_grad_();
        var process = Process.GetCurrentProcess();
        for (int round = 0; round < 2; round++)
        {
            double forward = 0, backward = 0;
            for (int r = 0; r < repeats; r++)
            {
                using var scope = NewDisposeScope();
                process.Refresh(); var t0 = process.TotalProcessorTime;
                var y = layer.forward(x);
                var loss = y.sum().Plus(layer.LastRouting!.AuxLoss);
                process.Refresh(); var t1 = process.TotalProcessorTime;
                loss.backward();
                process.Refresh(); var t2 = process.TotalProcessorTime;
                forward += (t1 - t0).TotalMilliseconds; backward += (t2 - t1).TotalMilliseconds;
                layer.zero_grad(); x.grad?.zero_();
            }
            Console.WriteLine($"MoeLayer [{n} x {d}]: forward {forward / repeats:F2} ms, backward {backward / repeats:F2} ms (CPU, mean of {repeats})");
        }
        return 0;
    }
}
