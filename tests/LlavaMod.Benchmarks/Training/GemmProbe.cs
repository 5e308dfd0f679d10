using System.Diagnostics;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>gemm-probe [preset] [rows...] [--blas]</c>: CPU seconds, one thread, of the language model's Linear matmuls
/// alone in one training step of a demo preset (every decoder layer's q, k, v, o, gate, up and down projections: the
/// forward X·Wᵀ and the backward dY·W and dYᵀ·X), fp32, at each row count (default 2,304, the demo batch's real
/// positions rounded to 64, and 2,944, the padded batch). The products run as <see cref="OneDnnLinear"/> runs them
/// (forward and dY·W through <see cref="OneDnnMatmul"/>, dYᵀ·X on BLAS); <c>--blas</c> runs all three as libtorch's
/// matmul (MKL). Nothing else of the step runs: it is a floor under the step's time on the same kernels, whatever
/// the framework around them.
/// </summary>
public static class GemmProbe
{
    public static int Run(string[] args)
    {
        bool blas = args.Contains("--blas");
        args = args.Where(a => a != "--blas").ToArray();
        string preset = args.Length > 0 ? args[0] : "demo-teacher";
        long[] rowCounts = args.Length > 1 ? args[1..].Select(long.Parse).ToArray() : [2304, 2944];
        TorchRuntime.SetThreads(1);
        var text = ModelPresets.Get(preset).Text;
        long d = text.HiddenSize, i = text.IntermediateSize, q = text.NumAttentionHeads * text.HeadDim, kv = text.NumKeyValueHeads * text.HeadDim;
        (long In, long Out)[] layer = [(d, q), (d, kv), (d, kv), (q, d), (d, i), (d, i), (i, d)];
        using var generator = new Generator(1);
        foreach (long n in rowCounts)
        {
            var weights = layer.Select(s => randn([s.Out, s.In], generator: generator)).ToArray();
            var inputs = layer.Select(s => randn([n, s.In], generator: generator)).ToArray();
            var grads = layer.Select(s => randn([n, s.Out], generator: generator)).ToArray();
            double Step()
            {
                var process = Process.GetCurrentProcess();
                process.Refresh();
                var t0 = process.TotalProcessorTime;
                for (int l = 0; l < text.NumHiddenLayers; l++)
                    for (int j = 0; j < layer.Length; j++)
                    {
                        using var scope = NewDisposeScope();
                        if (blas)
                        {
                            inputs[j].matmul(weights[j].t()); // forward (N, out)
                            grads[j].matmul(weights[j]);      // input gradient (N, in)
                        }
                        else
                        {
                            OneDnnMatmul.TimesTransposed(inputs[j], weights[j]);
                            OneDnnMatmul.Times(grads[j], weights[j]);
                        }
                        grads[j].t().matmul(inputs[j]);       // weight gradient (out, in), a sum over the N rows
                    }
                process.Refresh();
                return (process.TotalProcessorTime - t0).TotalSeconds;
            }
            for (int w = 0; w < 10; w++) Step();
            var times = Enumerable.Range(0, 50).Select(_ => Step()).Order().ToArray();
            double flops = 6.0 * n * layer.Sum(s => s.In * s.Out) * text.NumHiddenLayers;
            Console.WriteLine($"{preset} rows {n}, {(blas ? "BLAS" : "oneDNN")}: Linear matmuls {times[times.Length / 2] * 1000:F1} ms CPU per step (median of 50), " +
                              $"{flops / 1e9:F2} GFLOP, {flops / times[times.Length / 2] / 1e9:F0} GFLOP/s");
        }
        return 0;
    }
}
