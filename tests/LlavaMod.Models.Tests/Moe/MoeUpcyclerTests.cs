using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

public class MoeUpcyclerTests
{
    public MoeUpcyclerTests() => TorchRuntime.EnsureLoaded();

    static TinySwiGlu Dense(int d, int h, ulong seed)
    {
        var dense = new TinySwiGlu(d, h);
        var g = new Generator(seed);
        using var _ = no_grad();
        foreach (var p in dense.parameters()) p.copy_(randn(p.shape, generator: g).MulScalar(0.3));
        return dense;
    }

    [Fact]
    public void Upcycled_layer_computes_the_dense_function_when_nothing_is_dropped()
    {
        var dense = Dense(16, 24, 1);
        var moe = MoeUpcycler.FromDense(dense, 16, new MoeLayerOptions(), () => new TinySwiGlu(16, 24), new Generator(2));
        moe.eval(); // eval capacity factor 2 with E = 4, k = 2: capacity = N, no expert can overflow
        using var _ = no_grad();
        var x = randn([2, 25, 16], generator: new Generator(3));
        var expected = dense.call(x);
        var actual = moe.call(x);
        Assert.Equal(0, moe.LastRouting!.DroppedCounts.Sum());
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-6));
        for (int e = 0; e < 4; e++)
            foreach (var (name, p) in moe.Expert(e).named_parameters())
                Assert.True(p.eq(dense.get_parameter(name)!).all().item<bool>(), $"expert {e} {name}");
    }

    [Fact]
    public void Under_capacity_pressure_tokens_that_lose_every_expert_output_zero_and_the_rest_stay_dense()
    {
        var dense = Dense(8, 12, 4);
        var options = new MoeLayerOptions { CapacityFactor = 0.25, MinCapacity = 0 };
        var moe = MoeUpcycler.FromDense(dense, 8, options, () => new TinySwiGlu(8, 12), new Generator(5));
        moe.train();
        using var _ = no_grad();
        var x = randn([40, 8], generator: new Generator(6));
        var actual = moe.call(x);
        var expected = dense.call(x);
        var keptAny = moe.LastRouting!.Kept.any(1);
        Assert.True(moe.LastRouting.FullyDroppedTokens > 0);
        Assert.True(actual[keptAny].allclose(expected[keptAny], rtol: 1e-5, atol: 1e-6));
        Assert.True(actual[keptAny.logical_not()].eq(LongLivedScalars.IntZero).all().item<bool>());
    }

    [Fact]
    public void Router_is_drawn_from_the_torch_linear_default_range_and_is_reproducible()
    {
        var dense = Dense(64, 8, 7);
        MoeLayer Make(ulong seed) => MoeUpcycler.FromDense(dense, 64, new MoeLayerOptions(), () => new TinySwiGlu(64, 8), new Generator(seed));
        var a = Make(1).Router.weight!; var b = Make(1).Router.weight!; var c = Make(2).Router.weight!;
        Assert.Equal(ScalarType.Float32, a.dtype);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());
        Assert.True(a.abs().max().item<float>() <= 1.0 / 8 + 1e-7); // 1/√64
        Assert.True(a.abs().max().item<float>() > 0.1);            // spread over the range, not zeros
    }
}
