using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

/// <summary>
/// A right-padded batch without a cache runs attention with the kernel's causal masking and no mask tensor
/// (<see cref="AttentionMasks.CausalSuffices"/>): its real queries must get exactly what the causal + padding mask
/// gives them, values and gradients, since the trained weights are compared bit for bit across thread counts.
/// </summary>
public class AttentionMasksTests
{
    public AttentionMasksTests() => TorchRuntime.EnsureLoaded();

    static Tensor Mask(params long[][] rows) => tensor(rows.SelectMany(r => r).ToArray()).view(rows.Length, rows[0].Length);

    [Fact]
    public void Causal_masking_suffices_for_right_padding_only()
    {
        Assert.True(AttentionMasks.CausalSuffices(null));
        Assert.True(AttentionMasks.CausalSuffices(Mask([1, 1, 1, 1], [1, 1, 0, 0])));
        Assert.True(AttentionMasks.CausalSuffices(Mask([1, 0, 0, 0])));
        Assert.False(AttentionMasks.CausalSuffices(Mask([1, 1, 1, 1], [0, 0, 1, 1]))); // left padding (batched generation)
        Assert.False(AttentionMasks.CausalSuffices(Mask([1, 0, 1, 1])));               // a hole
    }

    [Theory]
    [InlineData(48L)]
    [InlineData(64L)]
    public void Real_queries_get_the_masked_values_and_gradients_exactly(long headDim)
    {
        const long B = 8, H = 2, T = 23;
        var g = new Generator(7);
        var (q0, k0, v0) = (randn([B, H, T, headDim], generator: g), randn([B, H, T, headDim], generator: g), randn([B, H, T, headDim], generator: g));
        var padding = ones(B, T, dtype: ScalarType.Int64);
        for (int r = 0; r < B; r++) padding[r, (int)(T - 3 * r)..].fill_(LongLivedScalars.IntZero); // 0..21 padding positions on the right
        var real = padding.to_type(ScalarType.Bool).view(B, 1, T, 1).expand(B, H, T, headDim);
        var upstream = randn([B, H, T, headDim], generator: g).mul(real); // a loss that reads the real queries only

        (Tensor Out, Tensor Dq, Tensor Dk, Tensor Dv) Run(bool causal)
        {
            var (q, k, v) = (q0.detach().requires_grad_(), k0.detach().requires_grad_(), v0.detach().requires_grad_());
            var mask = causal ? null : AttentionMasks.CausalWithPadding(B, T, 0, padding, ScalarType.Float32, CPU);
            var output = Autocast.Attention(q, k, v, mask, causal);
            (output * upstream).sum().backward();
            return (output.detach().masked_select(real), q.grad!, k.grad!, v.grad!);
        }

        var masked = Run(causal: false);
        var kernel = Run(causal: true);
        Assert.Equal(masked.Out.data<float>().ToArray(), kernel.Out.data<float>().ToArray());
        // the padding queries get no gradient, so every key and value gradient is the real queries' alone
        Assert.Equal(masked.Dq.masked_select(real).data<float>().ToArray(), kernel.Dq.masked_select(real).data<float>().ToArray());
        Assert.Equal(masked.Dk.masked_select(real).data<float>().ToArray(), kernel.Dk.masked_select(real).data<float>().ToArray());
        Assert.Equal(masked.Dv.masked_select(real).data<float>().ToArray(), kernel.Dv.masked_select(real).data<float>().ToArray());
    }

    [Fact]
    public void An_additive_mask_and_causal_masking_are_not_combined()
    {
        var x = zeros(1, 1, 3, 4);
        Assert.Throws<ArgumentException>(() => Autocast.Attention(x, x, x, zeros(1, 1, 3, 3), causal: true));
    }
}
