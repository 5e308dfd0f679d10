using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Tests.Checkpointing;
using LlavaMod.Models.Tests.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

/// <summary>
/// The decoder runs a padded batch's per-token blocks on the real positions only (<see cref="PackedTokens"/>): each
/// row must get what it gets alone, unpadded (hidden states and every parameter's gradient), padding must have no
/// say, and an MoE layer must route the real positions only.
/// </summary>
public class PackedTokensTests
{
    public PackedTokensTests() => TorchRuntime.EnsureLoaded();

    static readonly int[] Lengths = [10, 6, 7];
    static readonly bool[] LeftPadded = [false, false, true];

    /// <summary>Three rows of lengths 10, 6 (right-padded) and 7 (left-padded) in a (3, 10) batch, with each row's own ids.</summary>
    static (Tensor Ids, Tensor Mask, Tensor Positions, Tensor[] Rows) Batch(int padId = 0)
    {
        var g = new Generator(21);
        var rows = Lengths.Select(n => randint(0, 61, [1, n], generator: g)).ToArray();
        using var pad = padId.ToScalar();
        var ids = full(3, 10, pad, dtype: ScalarType.Int64);
        var mask = zeros(3, 10, dtype: ScalarType.Int64);
        for (int r = 0; r < 3; r++)
        {
            int start = LeftPadded[r] ? 10 - Lengths[r] : 0;
            ids[r, start..(start + Lengths[r])] = rows[r][0];
            mask[r, start..(start + Lengths[r])].fill_(LongLivedScalars.IntOne);
        }
        var positions = mask.cumsum(1).sub(LongLivedScalars.IntOne).clamp_min(LongLivedScalars.IntZero);
        return (ids, mask, positions, rows);
    }

    static Tensor RealPart(Tensor hidden, int r) // (n, D) of row r's real positions
    {
        int start = LeftPadded[r] ? 10 - Lengths[r] : 0;
        return hidden[r, start..(start + Lengths[r])];
    }

    /// <summary>Σ over real positions of hidden · a fixed direction (a loss that reads every real hidden state).</summary>
    static Tensor Probe(Tensor hiddenRows, long width) =>
        (hiddenRows * randn(width, generator: new Generator(5))).sum();

    static Dictionary<string, Tensor> Gradients(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());

    [Fact]
    public void Each_row_of_a_padded_batch_gets_its_unpadded_hidden_states_and_gradients()
    {
        var model = TinyModels.Qwen2(seed: 4);
        long width = model.Config.HiddenSize;
        var (ids, mask, positions, rows) = Batch();

        model.zero_grad();
        var batched = model.Hidden(ids, mask, positions); // (3, 10, D)
        Tensor batchLoss = zeros(1);
        for (int r = 0; r < 3; r++) batchLoss = batchLoss.Plus(Probe(RealPart(batched, r), width));
        batchLoss.backward();
        var batchGradients = Gradients(model);

        model.zero_grad();
        for (int r = 0; r < 3; r++)
        {
            var alone = model.Hidden(rows[r]); // (1, n, D): no mask, nothing packed
            Assert.True(alone[0].allclose(RealPart(batched, r).detach(), rtol: 1e-5, atol: 1e-5), $"row {r}'s hidden states differ from the row alone");
            Probe(alone[0], width).backward();
        }
        var rowGradients = Gradients(model);

        Assert.Equal(rowGradients.Keys.Order(), batchGradients.Keys.Order());
        foreach (var (name, expected) in rowGradients)
        {
            double difference = (batchGradients[name] - expected).abs().max().item<float>();
            double scale = expected.abs().max().item<float>();
            Assert.True(difference <= 1e-5 * Math.Max(scale, 1.0), $"{name}: batch and per-row gradients differ by {difference:E2} (largest {scale:E2})");
        }
    }

    [Theory]
    [InlineData(4, 40, 100, 128)] // rounded up to a multiple of 64 with padding positions
    [InlineData(2, 10, 15, 20)]   // the multiple exceeds the batch: every position, real ones first
    [InlineData(4, 40, 128, 128)] // already a multiple
    public void The_rows_run_are_the_real_positions_first_rounded_to_a_multiple_of_64(int batch, int length, int real, int rows)
    {
        var mask = zeros(batch * length, dtype: ScalarType.Int64);
        var realPositions = Enumerable.Range(0, batch * length).Where(i => i % 7 != 3).Take(real).Select(i => (long)i).ToArray();
        mask.index_fill_(0, tensor(realPositions), LongLivedScalars.IntOne);
        var packed = PackedTokens.Of(mask.view(batch, length))!;
        Assert.Equal(rows, packed.Count);
        Assert.Equal(real, packed.RealCount);
        var index = packed.Index.data<long>().ToArray();
        Assert.Equal(realPositions, index[..real]);
        Assert.All(index[real..], i => Assert.DoesNotContain(i, realPositions));
        Assert.Equal(index.Length, index.Distinct().Count());
        Assert.Null(PackedTokens.Of(ones(2, 5, dtype: ScalarType.Int64))); // nothing to unpad
    }

    [Fact]
    public void Padding_ids_have_no_effect_and_padding_positions_come_back_zero()
    {
        var model = TinyModels.Qwen2(seed: 4);
        using var _ = no_grad();
        var (ids, mask, positions, _) = Batch(padId: 0);
        var (otherIds, _, _, _) = Batch(padId: 17);
        var a = model.Hidden(ids, mask, positions);
        var b = model.Hidden(otherIds, mask, positions);
        Assert.True(a.eq(b).all().item<bool>(), "changing the padding ids changed the hidden states");
        var padding = mask.eq(LongLivedScalars.IntZero).unsqueeze(-1).expand_as(a);
        Assert.Equal(0.0, a.masked_select(padding).abs().sum().item<float>());
        Assert.True(a.masked_select(padding.logical_not()).abs().sum().item<float>() > 0);
    }

    [Fact]
    public void An_MoE_layer_routes_the_real_positions_only_and_extra_padding_changes_nothing()
    {
        var model = TinyModels.Qwen2(seed: 4);
        MoeUpcycler.Upcycle(model, ActivationCheckpointingTests.Moe, new Generator(3));
        model.train();
        using var _ = no_grad();
        var (ids, mask, positions, _) = Batch();
        var hidden = model.Hidden(ids, mask, positions);
        var routed = MoeModelRouting.Loads(model).Select(l => l.Tokens).ToArray();
        long real = Lengths.Sum();
        Assert.All(routed, n => Assert.Equal(real, n));

        // four more padding columns on the right: the same tokens compete for the same capacity
        var wider = cat([ids, zeros(3, 4, dtype: ScalarType.Int64)], 1);
        var widerMask = cat([mask, zeros(3, 4, dtype: ScalarType.Int64)], 1);
        var widerPositions = cat([positions, zeros(3, 4, dtype: ScalarType.Int64)], 1);
        var widerHidden = model.Hidden(wider, widerMask, widerPositions);
        Assert.True(widerHidden[.., ..10].allclose(hidden, rtol: 1e-5, atol: 1e-6), "extra padding changed the real positions' hidden states");
        Assert.True(MoeModelRouting.TotalAuxLoss(model)!.item<float>() > 0);
    }
}
