using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Precision;

/// <summary>
/// A Linear trained under a bf16 <see cref="Autocast"/> scope goes through <see cref="Bf16Linear"/> (no bf16 weight copy
/// kept for the backward): the same values and gradients, bit for bit, as autograd through the casts, as before.
/// </summary>
public class Bf16LinearTests
{
    public Bf16LinearTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Values_and_gradients_equal_autograd_through_the_casts(bool withBias)
    {
        var gen = new Generator(12);
        var input = randn([3, 7, 48], generator: gen);   // (B, T, K) fp32, as a norm hands it over
        var upstream = randn([3, 7, 40], generator: gen);
        using var tenth = 0.1.ToScalar();
        var weightValues = randn([40, 48], generator: gen).mul(tenth);
        var biasValues = randn([40], generator: gen).mul(tenth);

        (float[] Value, float[] Input, float[] Weight, float[]? Bias) Run(bool custom)
        {
            var x = input.detach().requires_grad_(true);
            var w = new TorchSharp.Modules.Parameter(weightValues.clone());
            var b = withBias ? new TorchSharp.Modules.Parameter(biasValues.clone()) : null;
            Tensor y;
            using (Autocast.Enter(ComputePrecision.Bf16))
                y = custom ? Autocast.Linear(x, w, b)
                    : nn.functional.linear(x.to(ScalarType.BFloat16), w.to(ScalarType.BFloat16), b?.to(ScalarType.BFloat16)); // autograd's own casts
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            (y.to(ScalarType.Float32) * upstream).sum().backward();
            return (y.to(ScalarType.Float32).data<float>().ToArray(), x.grad!.data<float>().ToArray(), w.grad!.data<float>().ToArray(), b?.grad!.data<float>().ToArray());
        }
        var expected = Run(custom: false);
        var actual = Run(custom: true);
        Assert.Equal(expected.Value, actual.Value);
        Assert.Equal(expected.Input, actual.Input);
        Assert.Equal(expected.Weight, actual.Weight);
        Assert.Equal(expected.Bias, actual.Bias);
    }

    [Fact]
    public void Without_autograd_the_scope_reuses_one_cast_per_weight()
    {
        var w = new TorchSharp.Modules.Parameter(randn([8, 4]));
        using var scope = Autocast.Enter(ComputePrecision.Bf16);
        using (no_grad())
        {
            Autocast.Linear(randn([2, 4]), w);
            Autocast.Linear(randn([2, 4]), w);
        }
        Assert.Equal(1, scope.CachedWeights); // generation: each weight cast once per scope, not per token
    }
}
