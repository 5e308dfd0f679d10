using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models.Tests.Runtime;

/// <summary>
/// What a custom autograd function (<see cref="RecomputedActivation"/>, through <see cref="CustomFunctionMemory"/>)
/// holds, measured as glibc's bytes in use on 64 MB tensors (mmap'ed blocks, counted exactly): TorchSharp 0.107 alone
/// keeps an empty copy of the output from the forward on and the saved input until the graph is gone.
/// </summary>
[Collection(Checkpointing.NativeHeapCollection.Name)]
public class CustomFunctionMemoryTests
{
    const long Elements = 16L << 20; // 64 MB of fp32
    const double Megabytes = 64.0;

    static double InUseMb() => GlibcHeapUsage.InUseBytes() / 1048576.0;

    /// <summary>Identity whose backward records the bytes in use when the backward reaches it.</summary>
    sealed class Probe : SingleTensorFunction<Probe>
    {
        public static double SeenMb;
        public override string Name => nameof(Probe);
        public override Tensor forward(AutogradContext ctx, params object[] vars) => ((Tensor)vars[0]).alias();
        public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
        {
            SeenMb = InUseMb();
            return [grad.alias()];
        }
    }

    [Fact]
    public void A_recomputed_chain_keeps_only_its_input_and_lets_it_go_as_the_backward_passes()
    {
        TorchRuntime.EnsureLoaded();
        var leaf = ones(Elements).requires_grad_(true);
        double forwardKept, backwardSeen, baseline;
        using (var scope = NewDisposeScope())
        {
            var input = Probe.apply(leaf).mul(LongLivedScalars.IntTwo); // (E) non-leaf: what the chain saves
            GC.Collect();
            GC.WaitForPendingFinalizers();
            baseline = InUseMb(); // the leaf, the probe's own output copy and the input
            Tensor loss;
            using (var chain = NewDisposeScope())
            {
                var output = RecomputedActivation.Apply(x => x[0].exp().mul(x[0]), input);
                forwardKept = InUseMb() - baseline; // the output; plain autograd would also keep exp(x), the node an empty copy
                loss = output.sum().MoveToOuterDisposeScope();
            }
            input.Dispose(); // from here only the function's saved reference keeps the input
            loss.backward();
            // when the backward reaches the probe: the input's gradient (parked by the function until the next one runs)
            // and the mul's gradient for the probe are in use, and the input should be gone
            backwardSeen = Probe.SeenMb - baseline;
        }
        Assert.True(forwardKept < 1.5 * Megabytes, $"the forward kept {forwardKept:F0} MB beside its input; the output alone is {Megabytes} MB");
        Assert.True(backwardSeen < 1.5 * Megabytes, $"{backwardSeen:F0} MB more in use than before the forward when the backward had passed the function (two {Megabytes} MB gradients, less the input): its saved input was not released");
        float expected = 2 * 3 * MathF.Exp(2), actual = leaf.grad![0].item<float>();
        Assert.True(Math.Abs(actual - expected) < 1e-5 * expected, $"gradient {actual}, expected {expected}");
    }

    [Fact]
    public void Recomputed_rms_norm_and_swiglu_equal_autograds_own_values_and_gradients_bit_for_bit()
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator(4);
        // (4, 256, 512) fp32 is 2 MB: the size from which the chains are recomputed
        var hidden = randn([4, 256, 512], generator: gen);
        var upstream = randn([4, 256, 512], generator: gen);
        Assert.True(hidden.numel() * 4 >= RecomputedActivation.MinimumBytes);
        using var norm = new RmsNorm(512, 1e-6);
        using (no_grad()) norm.Weight.copy_(randn([512], generator: gen));

        (float[] Value, float[] InputGrad, float[] WeightGrad) Run(bool recomputed)
        {
            norm.Weight.grad = null!;
            var x = hidden.detach().requires_grad_(true);
            Tensor y;
            if (recomputed) y = norm.forward(x);
            else
            {
                var variance = x.pow(LongLivedScalars.IntTwo).mean([-1L], keepdim: true);
                y = norm.Weight * (x * rsqrt(variance.add(1e-6.ToScalar(), LongLivedScalars.IntOne)));
            }
            (y * upstream).sum().backward();
            return (y.detach().data<float>().ToArray(), x.grad!.data<float>().ToArray(), norm.Weight.grad!.data<float>().ToArray());
        }
        var plain = Run(false);
        var recomputedNorm = Run(true);
        Assert.Equal(plain.Value, recomputedNorm.Value);
        Assert.Equal(plain.InputGrad, recomputedNorm.InputGrad);
        Assert.Equal(plain.WeightGrad, recomputedNorm.WeightGrad);

        using var mlp = new Qwen2Mlp(512, 512);
        (float[] Value, float[] InputGrad, float[] GateGrad) Mlp(bool recomputed)
        {
            foreach (var p in mlp.parameters()) p.grad = null!;
            var x = hidden.detach().requires_grad_(true);
            var y = recomputed ? mlp.forward(x)
                : Autocast.Linear(mlp.DownProj, nn.functional.silu(Autocast.Linear(mlp.GateProj, x)) * Autocast.Linear(mlp.UpProj, x)); // the chain kept whole
            (y * upstream).sum().backward();
            return (y.detach().data<float>().ToArray(), x.grad!.data<float>().ToArray(), mlp.GateProj.weight!.grad!.data<float>().ToArray());
        }
        var plainMlp = Mlp(false);
        var recomputedMlp = Mlp(true);
        Assert.Equal(plainMlp.Value, recomputedMlp.Value);
        Assert.Equal(plainMlp.InputGrad, recomputedMlp.InputGrad);
        Assert.Equal(plainMlp.GateGrad, recomputedMlp.GateGrad);
    }
}
