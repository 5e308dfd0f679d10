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
}
