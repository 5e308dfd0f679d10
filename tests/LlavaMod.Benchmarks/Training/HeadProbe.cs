using System.Diagnostics;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>head-probe [N D C] [repeats] [fp32|bf16] [threads]</c>: wall and CPU milliseconds of each op of one vocabulary chunk of
/// <see cref="ChunkedHeadLoss"/> (default 1,020 positions × hidden 1,024 × 8,192 columns, bf16, 2 threads): the logits
/// matmul and its fp32 cast, the log-sum-exp, the gradient's element-wise ops, the two gradient matmuls, and the
/// achieved GFLOP/s of each matmul. Where a fused step's time goes, op by op.
/// </summary>
public static class HeadProbe
{
    public static int Run(string[] args)
    {
        long[] shape = args.Length >= 3 ? args[..3].Select(long.Parse).ToArray() : [1020, 1024, 8192];
        int repeats = args.Length >= 4 ? int.Parse(args[3]) : 10;
        var dtype = args.Length >= 5 && args[4] == "fp32" ? ScalarType.Float32 : ScalarType.BFloat16;
        TorchRuntime.SetThreads(args.Length >= 6 ? int.Parse(args[5]) : 2);
        var (n, d, c) = (shape[0], shape[1], shape[2]);
        using var generator = new Generator(1);
        var x = randn([n, d], generator: generator).to(dtype);
        var rows = randn([c, d], generator: generator).MulScalar(0.02).to(dtype);
        var logits = x.matmul(rows.t()).to(ScalarType.Float32);
        var lse = logits.logsumexp(1);
        var g = ones(n);
        var grad = zeros(n, c).to(dtype);
        var rowsContiguousT = rows.t().contiguous();
        var gradT = grad.t().contiguous();
        double flops = 2.0 * n * d * c;
        var ops = new (string Name, double Flops, Func<Tensor> Op)[]
        {
            ("logits = x · rowsᵀ", flops, () => x.matmul(rows.t())),
            ("logits = x · (rowsᵀ contiguous)", flops, () => x.matmul(rowsContiguousT)),
            ("linear(x, rows)", flops, () => nn.functional.linear(x, rows)),
            ("cast logits to fp32", 0, () => logits.to(dtype).to(ScalarType.Float32)),
            ("logsumexp(1)", 0, () => logits.logsumexp(1)),
            ("exp(logits − L)", 0, () => (logits - lse.unsqueeze(1)).exp()),
            ("· g, cast to compute dtype", 0, () => logits.mul(g.unsqueeze(1)).to(dtype)),
            ("grad · rows (hidden grad)", flops, () => grad.matmul(rows)),
            ("gradᵀ · x (weight grad)", flops, () => grad.t().matmul(x)),
            ("(gradᵀ contiguous) · x", flops, () => gradT.matmul(x)),
        };
        Console.WriteLine($"chunk N {n} × D {d} × C {c}, {dtype}, {torch.get_num_threads()} threads, {repeats} repeats (ms per op)");
        var process = Process.GetCurrentProcess();
        foreach (var (name, opFlops, op) in ops)
        {
            using (NewDisposeScope()) op(); // warm-up
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < repeats; i++) { using var scope = NewDisposeScope(); op(); }
            double wall = clock.Elapsed.TotalMilliseconds / repeats;
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds / repeats;
            string rate = opFlops > 0 ? $"  {opFlops / (wall / 1000) / 1e9,6:F0} GFLOP/s" : "";
            Console.WriteLine($"{name,-34} wall {wall,8:F2}  cpu {cpu,8:F2}{rate}");
        }
        WholeHead(n, d, repeats: 2);
        return 0;
    }

    /// <summary>The whole fused cross-entropy over the real vocabulary (V = 151,936), forward and backward apart.</summary>
    static void WholeHead(long n, long d, int repeats)
    {
        const long vocab = 151936;
        using var generator = new Generator(2);
        var hidden = randn([n, d], generator: generator).requires_grad_();
        var weight = randn([vocab, d], generator: generator).MulScalar(0.02).requires_grad_();
        var targets = randint(0, vocab, [n], generator: generator);
        var process = Process.GetCurrentProcess();
        double Cpu() { process.Refresh(); return process.TotalProcessorTime.TotalMilliseconds; }
        foreach (var precision in new[] { ComputePrecision.Bf16, ComputePrecision.Fp32 })
            for (int i = 0; i < repeats + 1; i++)
            {
                using var scope = NewDisposeScope();
                hidden.grad?.Dispose(); hidden.grad = null!;
                weight.grad?.Dispose(); weight.grad = null!;
                double t0 = Cpu(); var clock = Stopwatch.StartNew();
                Tensor loss;
                using (Autocast.Enter(precision))
                    loss = ChunkedHeadLoss.Compute(new HeadInputs(hidden, weight), new TargetLogProbs(targets)).neg().mean();
                double forwardWall = clock.Elapsed.TotalMilliseconds, t1 = Cpu();
                loss.backward();
                double backwardWall = clock.Elapsed.TotalMilliseconds - forwardWall, t2 = Cpu();
                if (i > 0) Console.WriteLine($"whole fused CE, V {vocab}, {precision.Name(),-4}: forward wall {forwardWall,7:F0} cpu {t1 - t0,7:F0}   backward wall {backwardWall,7:F0} cpu {t2 - t1,7:F0} ms");
            }
    }
}
