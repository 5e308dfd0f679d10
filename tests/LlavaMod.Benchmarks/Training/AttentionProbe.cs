using System.Diagnostics;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>attention-probe [batch heads length headDim] [repeats]</c>: CPU seconds of forward + backward of one masked
/// attention at the demo's shapes (default 64 × 2 × 46 × 48, the demo student's; causal + padding mask), through
/// <see cref="Autocast.Attention"/> (libtorch's scaled_dot_product_attention, what our layers call) and through the
/// eager matmul → softmax → matmul that PyTorch 1.13 and HF's eager path run. One thread.
/// </summary>
public static class AttentionProbe
{
    public static int Run(string[] args)
    {
        int[] shape = args.Length >= 4 ? args[..4].Select(int.Parse).ToArray() : [64, 2, 46, 48];
        int repeats = args.Length >= 5 ? int.Parse(args[4]) : 200;
        TorchRuntime.SetThreads(1);
        var (b, h, t, d) = (shape[0], shape[1], shape[2], shape[3]);
        using var generator = new Generator(1);
        var q = randn([b, h, t, d], generator: generator).requires_grad_();
        var k = randn([b, h, t, d], generator: generator).requires_grad_();
        var v = randn([b, h, t, d], generator: generator).requires_grad_();
        var padding = ones(b, t, dtype: ScalarType.Int64);
        for (int r = 0; r < b; r++) padding[r, (t - r % 20)..].fill_(LongLivedScalars.IntZero); // right padding of 0..19 positions
        var mask = AttentionMasks.CausalWithPadding(b, t, 0, padding, ScalarType.Float32, CPU)!;
        Tensor Sdpa() => Autocast.Attention(q, k, v, mask);
        Tensor Causal() => nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        Tensor Eager() => nn.functional.softmax(matmul(q, k.transpose(2, 3)).DivScalar(Math.Sqrt(d)).Plus(mask), -1).matmul(v);
        using (NewDisposeScope())
        {
            Console.WriteLine($"max |sdpa - eager| = {(Sdpa() - Eager()).abs().max().item<float>():E2}");
            var real = padding.unsqueeze(1).unsqueeze(3).to_type(ScalarType.Bool).expand(b, h, t, d); // the real queries' rows
            Console.WriteLine($"max |sdpa - causal| on real rows = {(Sdpa() - Causal()).masked_select(real).abs().max().item<float>():E2}");
        }
        foreach (var (name, f) in new[] { ("sdpa", (Func<Tensor>)Sdpa), ("causal", Causal), ("eager", Eager), ("sdpa", Sdpa), ("causal", Causal), ("eager", Eager) })
        {
            var process = Process.GetCurrentProcess();
            double forward = 0, backward = 0;
            for (int i = 0; i < repeats; i++)
            {
                using var scope = NewDisposeScope();
                process.Refresh(); var t0 = process.TotalProcessorTime;
                var y = f();
                process.Refresh(); var t1 = process.TotalProcessorTime;
                y.sum().backward();
                process.Refresh(); var t2 = process.TotalProcessorTime;
                forward += (t1 - t0).TotalMilliseconds; backward += (t2 - t1).TotalMilliseconds;
                q.grad?.zero_(); k.grad?.zero_(); v.grad?.zero_();
            }
            Console.WriteLine($"{name}: forward {forward / repeats:F2} ms, backward {backward / repeats:F2} ms (CPU, mean of {repeats})");
        }
        return 0;
    }
}
