using LlavaMod.Models.Runtime;
using LlavaMod.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Optimization;

/// <summary>
/// <see cref="LlavaMod.Training.Optimization.AdamW"/> must be TorchSharp's AdamW to the bit (parameters and both moments after every step,
/// with and without weight decay, parameters smaller than, equal to and not a multiple of a block, a non-contiguous
/// gradient), and its state must load into TorchSharp's AdamW and back (checkpoints written by either resume in the other).
/// </summary>
public class AdamWTests
{
    public AdamWTests() => TorchRuntime.EnsureLoaded();

    static readonly long[][] Shapes = [[3, 5], [LlavaMod.Training.Optimization.AdamW.BlockElements], [2 * LlavaMod.Training.Optimization.AdamW.BlockElements + 1001], [611, 1024], [7]];

    static List<Parameter> Parameters(int seed) =>
        Shapes.Select(shape => new Parameter(randn(shape, generator: new Generator((ulong)(seed + shape.Length * 100 + shape[0]))))).ToList();

    static TorchSharp.Modules.AdamW.ParamGroup[] Groups(List<Parameter> parameters, double lr) =>
    [
        new TorchSharp.Modules.AdamW.ParamGroup(parameters.Take(3), lr, 0.9, 0.98, 1e-8, 0.1, false, false), // with weight decay
        new TorchSharp.Modules.AdamW.ParamGroup(parameters.Skip(3), lr, 0.9, 0.98, 1e-8, 0.0, false, false),
    ];

    /// <summary>The same gradients for both runs: (step, parameter) seeds; the last parameter's is a transposed view.</summary>
    static void SetGradients(List<Parameter> parameters, int step)
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            var shape = parameters[i].shape;
            var g = new Generator((ulong)(1000 * step + i));
            parameters[i].grad = i == 3
                ? randn([shape[1], shape[0]], generator: g).t() // non-contiguous: the whole-tensor path
                : randn(shape, generator: g).mul(LongLivedScalars.DoubleOne);
        }
    }

    static void AssertSameBits(IReadOnlyList<Tensor> expected, IReadOnlyList<Tensor> actual, string what)
    {
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].eq(actual[i]).all().item<bool>(), $"{what} {i} ([{string.Join(", ", expected[i].shape)}]) differs from TorchSharp's AdamW");
    }

    static List<Tensor> Moments(OptimizerHelper optimizer, Func<TorchSharp.Modules.AdamW.State, Tensor> pick) =>
        optimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>().Select(pick).ToList();

    [Fact]
    public void Every_step_is_torchsharps_adamw_bit_for_bit()
    {
        var (ours, theirs) = (Parameters(1), Parameters(1));
        using var blocked = new LlavaMod.Training.Optimization.AdamW(Groups(ours, 3e-3), 3e-3, 0.9, 0.98, 1e-8, 0.1);
        using var reference = optim.AdamW(Groups(theirs, 3e-3), 3e-3, 0.9, 0.98, 1e-8, 0.1);
        for (int step = 1; step <= 4; step++)
        {
            SetGradients(ours, step);
            SetGradients(theirs, step);
            blocked.step();
            reference.step();
            AssertSameBits(theirs, ours, $"step {step}: parameter");
        }
        AssertSameBits(Moments(reference, s => s.exp_avg), Moments(blocked, s => s.exp_avg), "first moment");
        AssertSameBits(Moments(reference, s => s.exp_avg_sq), Moments(blocked, s => s.exp_avg_sq), "second moment");
        Assert.NotEqual(0.0, ours[0].sub(Parameters(1)[0]).abs().max().item<float>()); // the steps moved the weights
    }

    [Fact]
    public void Its_state_resumes_in_torchsharps_adamw_and_back()
    {
        string file = Path.Combine(Path.GetTempPath(), $"adamw-{Guid.NewGuid():N}.bin");
        try
        {
            var (ours, theirs) = (Parameters(2), Parameters(2));
            using var blocked = new LlavaMod.Training.Optimization.AdamW(Groups(ours, 1e-3), 1e-3, 0.9, 0.98, 1e-8, 0.1);
            SetGradients(ours, 1);
            blocked.step();
            blocked.save_state_dict(file);

            using (var reference = optim.AdamW(Groups(theirs, 1e-3), 1e-3, 0.9, 0.98, 1e-8, 0.1))
            {
                reference.load_state_dict(file);
                Assert.All(reference.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>(), s => Assert.Equal(1, s.step));
                AssertSameBits(Moments(blocked, s => s.exp_avg_sq), Moments(reference, s => s.exp_avg_sq), "loaded second moment");
                reference.save_state_dict(file);
            }
            using var again = new LlavaMod.Training.Optimization.AdamW(Groups(Parameters(2), 1e-3), 1e-3, 0.9, 0.98, 1e-8, 0.1);
            again.load_state_dict(file);
            AssertSameBits(Moments(blocked, s => s.exp_avg), Moments(again, s => s.exp_avg), "round-tripped first moment");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Zero_grad_drops_heap_sized_gradients_and_zeroes_the_ones_glibc_maps()
    {
        var small = new Parameter(randn(3, 5));
        var mapped = new Parameter(zeros(NativeHeap.MmapThreshold / sizeof(float))); // 32 MB: glibc maps it for itself
        using var optimizer = new LlavaMod.Training.Optimization.AdamW([small, mapped], 1e-3, 0.9, 0.98);
        small.grad = ones(3, 5);
        mapped.grad = ones(mapped.shape);
        optimizer.zero_grad();
        using (var dropped = small.grad) Assert.Null(dropped);
        using var kept = mapped.grad;
        Assert.NotNull(kept);
        Assert.Equal(0f, kept.abs().max().item<float>());
    }

    [Fact]
    public void Training_with_dropped_gradients_is_training_with_zeroed_ones_bit_for_bit()
    {
        // a body used every step, a branch used on even steps only (an expert that gets no tokens on odd steps) and one
        // first used at step 3 (no gradient before it): TorchSharp's AdamW, whose zero_grad zeroes, is the reference
        static (Linear Body, Linear Sometimes, Linear Late, List<Parameter> Parameters) Model()
        {
            torch.manual_seed(7);
            var (body, sometimes, late) = (nn.Linear(6, 4), nn.Linear(6, 4), nn.Linear(6, 4));
            return (body, sometimes, late, [.. body.parameters(), .. sometimes.parameters(), .. late.parameters()]);
        }
        static Tensor Loss((Linear Body, Linear Sometimes, Linear Late, List<Parameter> _) m, Tensor x, int step)
        {
            var y = m.Body.call(x);
            if (step % 2 == 0) y = y.Plus(m.Sometimes.call(x));
            if (step >= 3) y = y.Plus(m.Late.call(x));
            return y.pow(LongLivedScalars.IntTwo).mean();
        }
        var ours = Model();
        var theirs = Model();
        using var dropping = new LlavaMod.Training.Optimization.AdamW(ours.Parameters, 1e-2, 0.9, 0.98, 1e-8, 0.1);
        using var zeroing = optim.AdamW(theirs.Parameters, 1e-2, 0.9, 0.98, 1e-8, 0.1);
        for (int step = 0; step < 6; step++)
        {
            var x = randn([8, 6], generator: new Generator((ulong)step));
            foreach (var (model, optimizer) in new[] { (ours, (OptimizerHelper)dropping), (theirs, zeroing) })
            {
                using var scope = NewDisposeScope();
                Loss(model, x, step).backward();
                optimizer.step();
                optimizer.zero_grad();
            }
            Assert.All(ours.Parameters, p => { using var g = p.grad; Assert.Null(g); });
            AssertSameBits(theirs.Parameters, ours.Parameters, $"step {step + 1}: parameter");
        }
        AssertSameBits(Moments(zeroing, s => s.exp_avg_sq), Moments(dropping, s => s.exp_avg_sq), "second moment");
        Assert.All(Moments(dropping, s => s.exp_avg), m => Assert.NotEqual(0f, m.abs().max().item<float>())); // every branch trained
    }

    [Fact]
    public void A_resumed_run_steps_a_parameter_the_backward_missed_as_the_uninterrupted_run_does()
    {
        // the branch is used on steps 0 and 1 only: right after a resume at step 2 it has no gradient, as in the
        // uninterrupted run, and both must step it with a zero gradient (its moments decay, the weight moves)
        string file = Path.Combine(Path.GetTempPath(), $"adamw-resume-{Guid.NewGuid():N}.bin");
        try
        {
            static (Linear Body, Linear Branch, List<Parameter> Parameters) Model()
            {
                torch.manual_seed(11);
                var (body, branch) = (nn.Linear(5, 3), nn.Linear(5, 3));
                return (body, branch, [.. body.parameters(), .. branch.parameters()]);
            }
            static void Step((Linear Body, Linear Branch, List<Parameter> _) m, OptimizerHelper optimizer, int step)
            {
                using var scope = NewDisposeScope();
                var x = randn([6, 5], generator: new Generator((ulong)(100 + step)));
                var y = m.Body.call(x);
                if (step < 2) y = y.Plus(m.Branch.call(x));
                y.pow(LongLivedScalars.IntTwo).mean().backward();
                optimizer.step();
                optimizer.zero_grad();
            }
            var straight = Model();
            using var straightOptimizer = new LlavaMod.Training.Optimization.AdamW(straight.Parameters, 1e-2, 0.9, 0.98, 1e-8, 0.1);
            for (int step = 0; step < 4; step++) Step(straight, straightOptimizer, step);

            var first = Model();
            using (var firstOptimizer = new LlavaMod.Training.Optimization.AdamW(first.Parameters, 1e-2, 0.9, 0.98, 1e-8, 0.1))
            {
                for (int step = 0; step < 2; step++) Step(first, firstOptimizer, step);
                firstOptimizer.save_state_dict(file);
            }
            var resumed = Model();
            using (no_grad())
                for (int i = 0; i < resumed.Parameters.Count; i++) resumed.Parameters[i].copy_(first.Parameters[i]);
            using var resumedOptimizer = new LlavaMod.Training.Optimization.AdamW(resumed.Parameters, 1e-2, 0.9, 0.98, 1e-8, 0.1);
            resumedOptimizer.load_state_dict(file);
            for (int step = 2; step < 4; step++) Step(resumed, resumedOptimizer, step);

            AssertSameBits(straight.Parameters, resumed.Parameters, "after the resume: parameter");
            Assert.All(Moments(resumedOptimizer, s => s.exp_avg).Zip(Moments(straightOptimizer, s => s.exp_avg)), pair => Assert.True(pair.First.eq(pair.Second).all().item<bool>()));
            Assert.All(resumedOptimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>(), s => Assert.Equal(4, s.step)); // the branch stepped every time
        }
        finally
        {
            File.Delete(file);
        }
    }
}
