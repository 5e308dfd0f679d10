using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

/// <summary>MoeLayer properties beyond DeepSpeed's top-2: noise, other k, shapes.</summary>
public class MoeLayerBehaviourTests
{
    public MoeLayerBehaviourTests() => TorchRuntime.EnsureLoaded();

    static long[] Column(Tensor t, int c) => t[.., c].contiguous().data<long>().ToArray();

    [Fact]
    public void Gumbel_noise_changes_only_later_choices_and_is_reproducible_per_generator_seed()
    {
        var c = MoeCase.Random(seed: 11, tokens: 64, experts: 4, withCotangent: false);
        var options = new MoeLayerOptions { EvalCapacityFactor = 4, GumbelNoiseOnLaterChoices = true };
        var layer = c.BuildLayer(options);
        layer.eval();
        long[][] Run(ulong? seed)
        {
            layer.NoiseGenerator = seed is { } s ? new Generator(s) : null;
            using var _ = no_grad();
            layer.call(c.X).Dispose();
            return [Column(layer.LastRouting!.ExpertIndices, 0), Column(layer.LastRouting.ExpertIndices, 1)];
        }
        var a = Run(5); var b = Run(5); var other = Run(6);
        var plain = c.BuildLayer(options with { GumbelNoiseOnLaterChoices = false });
        plain.eval();
        using (no_grad()) plain.call(c.X).Dispose();

        Assert.Equal(a, b);
        Assert.Equal(Column(plain.LastRouting!.ExpertIndices, 0), a[0]);
        Assert.NotEqual(a[1], other[1]);
        Assert.NotEqual(Column(plain.LastRouting.ExpertIndices, 1), a[1]);
    }

    [Fact]
    public void Top_k_equal_to_expert_count_without_drops_is_the_dense_softmax_mixture()
    {
        var c = MoeCase.Random(seed: 12, tokens: 10, experts: 3, withCotangent: false);
        var layer = c.BuildLayer(new MoeLayerOptions { NumExperts = 3, TopK = 3, EvalCapacityFactor = 1.0 });
        layer.eval();
        using var _ = no_grad();
        var output = layer.call(c.X);
        Assert.Equal(0, layer.LastRouting!.DroppedCounts.Sum());

        var probs = nn.functional.softmax(nn.functional.linear(c.X, c.Wg), 1);
        var expected = zeros_like(c.X);
        for (int e = 0; e < 3; e++)
        {
            var h = nn.functional.silu(nn.functional.linear(c.X, c.GateProj[e])) * nn.functional.linear(c.X, c.UpProj[e]);
            expected += probs[.., e].unsqueeze(1) * nn.functional.linear(h, c.DownProj[e]);
        }
        Assert.True(output.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Top_1_gives_the_argmax_expert_with_weight_one()
    {
        var c = MoeCase.Random(seed: 13, tokens: 12, experts: 4, withCotangent: false);
        var layer = c.BuildLayer(new MoeLayerOptions { TopK = 1, EvalCapacityFactor = 4.0 });
        layer.eval();
        using var _ = no_grad();
        var output = layer.call(c.X);
        var choice = nn.functional.linear(c.X, c.Wg).argmax(1).data<long>().ToArray();
        for (int i = 0; i < 12; i++)
        {
            int e = (int)choice[i];
            var x = c.X[i].unsqueeze(0);
            var h = nn.functional.silu(nn.functional.linear(x, c.GateProj[e])) * nn.functional.linear(x, c.UpProj[e]);
            Assert.True(output[i].unsqueeze(0).allclose(nn.functional.linear(h, c.DownProj[e]), rtol: 1e-5, atol: 1e-6), $"token {i}");
        }
        Assert.All(layer.LastRouting!.Weights.data<float>().ToArray(), w => Assert.Equal(1f, w));
    }

    [Fact]
    public void Batched_input_routes_like_its_flattened_tokens()
    {
        var c = MoeCase.Random(seed: 14, tokens: 24, experts: 4, withCotangent: false);
        var layer = c.BuildLayer(new MoeLayerOptions { EvalCapacityFactor = 0.5, MinCapacity = 0 });
        layer.eval();
        using var _ = no_grad();
        var flat = layer.call(c.X);
        var batched = layer.call(c.X.reshape(3, 8, c.Dim));
        Assert.Equal([3L, 8, c.Dim], batched.shape);
        Assert.True(batched.reshape(24, c.Dim).eq(flat).all().item<bool>());
    }

    [Fact]
    public void Bf16_experts_keep_an_fp32_router_and_return_bf16()
    {
        var c = MoeCase.Random(seed: 15, tokens: 16, experts: 4, withCotangent: false);
        var layer = c.BuildLayer(new MoeLayerOptions());
        layer.to(ScalarType.BFloat16);
        layer.eval();
        using var _ = no_grad();
        var output = layer.call(c.X.to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, output.dtype);
        Assert.Equal(ScalarType.Float32, layer.LastRouting!.Weights.dtype);
        Assert.Equal(ScalarType.Float32, layer.LastRouting.AuxLoss.dtype);
    }

    [Fact]
    public void State_dict_uses_DeepSpeed_names()
    {
        var layer = MoeCase.Random(seed: 16, tokens: 4, experts: 2, withCotangent: false).BuildLayer(new MoeLayerOptions { NumExperts = 2 });
        var names = layer.state_dict().Keys.Order().ToArray();
        Assert.Equal(new[]
        {
            "deepspeed_moe.experts.deepspeed_experts.0.down_proj.weight", "deepspeed_moe.experts.deepspeed_experts.0.gate_proj.weight",
            "deepspeed_moe.experts.deepspeed_experts.0.up_proj.weight", "deepspeed_moe.experts.deepspeed_experts.1.down_proj.weight",
            "deepspeed_moe.experts.deepspeed_experts.1.gate_proj.weight", "deepspeed_moe.experts.deepspeed_experts.1.up_proj.weight",
            "deepspeed_moe.gate.wg.weight",
        }, names);
    }

    [Fact]
    public void Experts_rows_padded_to_the_bucket_give_each_experts_outputs_and_gradients_of_exactly_its_rows()
    {
        // The demo student's widths, so the experts' products run on oneDNN and their weight gradients on BLAS.
        const int tokens = 700, width = 96, intermediate = 256;
        using var generator = new Generator(21);
        using var layer = new MoeLayer(width, new MoeLayerOptions { NumExperts = 4, TopK = 2, CapacityFactor = 1.5, MinCapacity = 4 },
            _ => new Qwen2Mlp(width, intermediate));
        Initialization.Apply(layer, 0.1, 1);
        layer.train();
        var x = randn([tokens, width], generator: generator);
        var cotangent = randn([tokens, width], generator: generator);
        var experts = Enumerable.Range(0, 4).Select(e => layer.Expert(e).parameters().ToArray()).ToArray();
        Tensor[] ExpertGradients() => experts.SelectMany(p => p).Select(p => p.grad!.clone()).ToArray();

        var output = layer.call(x);
        (output * cotangent).sum().backward();
        var padded = ExpertGradients();

        layer.zero_grad();
        var routing = layer.LastRouting!;
        using var dropped = (-1L).ToScalar();
        using var one = 1L.ToScalar();
        var kept = routing.ExpertIndices.masked_fill(routing.Kept.logical_not(), dropped);
        var reference = zeros_like(x);
        var rowCounts = new long[4];
        for (int e = 0; e < 4; e++)
        {
            using var expert = ((long)e).ToScalar();
            var slot = kept.eq(expert);
            var rows = slot.any(1).nonzero().squeeze(1);
            rowCounts[e] = rows.shape[0];
            var weight = (routing.Weights.detach() * slot.to(ScalarType.Float32)).sum(1).index_select(0, rows);
            var expertOutput = layer.Expert(e).call(x.index_select(0, rows));
            reference.index_add_(0, rows, expertOutput * weight.unsqueeze(1), one);
        }
        (reference * cotangent).sum().backward();
        var unpadded = ExpertGradients();

        Assert.Contains(rowCounts, c => c % MoeLayer.RowBucket != 0 && c * width > OneDnnMatmul.MinElements);
        static float[] Bits(Tensor t) => t.detach().contiguous().data<float>().ToArray();
        Assert.Equal(Bits(reference), Bits(output));
        // BLAS sums a weight gradient's rows in blocks that depend on the row count: the padded zeros move its rounding.
        for (int i = 0; i < padded.Length; i++)
        {
            float difference = (padded[i] - unpadded[i]).abs().max().item<float>(), scale = unpadded[i].abs().max().item<float>();
            Assert.True(difference <= 1e-5f * scale, $"expert gradient {i}: max difference {difference} at a scale of {scale}");
        }
    }
}
