using LlavaMod.Models.IO;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

[Collection(ReferenceCollection.Name)]
public class Qwen2ReferenceTests(ReferenceFixture reference)
{
    const double Tolerance = 1e-4;

    [Theory]
    [InlineData("qwen_untied")]
    [InlineData("qwen_tied")]
    public void Logits_of_a_right_padded_gqa_batch_match_pytorch(string folder)
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir(folder));
        Assert.True(model.Config.NumKeyValueHeads < model.Config.NumAttentionHeads);
        using var ids = reference.Get("qwen.input_ids");
        using var mask = reference.Get("qwen.attention_mask");
        using var expected = reference.Get(folder + ".logits");
        using var _ = torch.no_grad();
        using var logits = model.Forward(ids, mask);
        TensorAssert.CloseAtRealPositions(expected, logits, mask, Tolerance);
    }

    [Fact]
    public void A_padded_row_gives_the_same_logits_as_the_row_alone()
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_untied"));
        using var ids = reference.Get("qwen.input_ids");
        using var expected = reference.Get("qwen_untied.logits");
        using var _ = torch.no_grad();
        using var alone = model.Forward(ids[1..2, ..6]);
        TensorAssert.Close(expected[1..2, ..6], alone, Tolerance);
    }

    [Fact]
    public void Tied_checkpoint_has_no_lm_head_and_state_dict_names_equal_the_hf_file()
    {
        foreach (var folder in new[] { "qwen_tied", "qwen_untied" })
        {
            using var model = Checkpoint.LoadQwen2(reference.Dir(folder));
            var file = SafeTensorsFolder.Open(reference.Dir(folder));
            Assert.Equal(file.Names.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Kv_cache_prefix_then_one_token_at_a_time_equals_the_full_forward()
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_untied"));
        using var ids = reference.Get("qwen.input_ids");
        using var expected = reference.Get("qwen_untied.logits");
        using var _ = torch.no_grad();
        using var cache = model.NewCache();
        var row = ids[..1];
        using (var prefix = model.Forward(row[.., ..5], cache: cache))
            TensorAssert.Close(expected[..1, ..5], prefix, Tolerance);
        Assert.Equal(5, cache.Length);
        for (int t = 5; t < 9; t++)
        {
            using var step = model.Forward(row[.., t..(t + 1)], cache: cache);
            TensorAssert.Close(expected[..1, t..(t + 1)], step, Tolerance);
        }
        Assert.Equal(9, cache.Length);
    }

    [Fact]
    public void Kv_cache_with_a_padded_batch_and_explicit_positions_matches()
    {
        // rows of lengths 9 and 6: prefix of 4 (both real), then 2 steps with the mask covering past + new
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_untied"));
        using var ids = reference.Get("qwen.input_ids");
        using var mask = reference.Get("qwen.attention_mask");
        using var expected = reference.Get("qwen_untied.logits");
        using var _ = torch.no_grad();
        using var cache = model.NewCache();
        using var prefix = model.Forward(ids[..2, ..4], mask[..2, ..4], cache: cache);
        TensorAssert.Close(expected[..2, ..4], prefix, Tolerance);
        for (int t = 4; t < 6; t++)
        {
            using var step = model.Forward(ids[..2, t..(t + 1)], mask[..2, ..(t + 1)], cache: cache);
            TensorAssert.Close(expected[..2, t..(t + 1)], step, Tolerance);
        }
    }

    [Fact]
    public void Vocab_subset_logits_equal_the_gathered_full_logits()
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_tied"));
        using var ids = reference.Get("qwen.input_ids");
        using var mask = reference.Get("qwen.attention_mask");
        using var expected = reference.Get("qwen_tied.logits");
        int[] subsetIds = [17, 3, 60, 5, 40];
        var subset = new VocabSubset(subsetIds);
        using var _ = torch.no_grad();
        using var logits = model.Forward(ids, mask, subset: subset);
        using var gathered = expected.index_select(2, torch.tensor(subsetIds.Select(i => (long)i).ToArray()));
        TensorAssert.CloseAtRealPositions(gathered, logits, mask, Tolerance);
        Assert.Equal(2, subset.IndexOf(60));
        Assert.Equal(-1, subset.IndexOf(4));
        Assert.Equal(40, subset.TokenIdAt(4));
    }

    [Fact]
    public void Bf16_checkpoint_loads_exactly_into_fp32_and_runs_in_bf16_within_tolerance()
    {
        using var ids = reference.Get("qwen.input_ids");
        using var mask = reference.Get("qwen.attention_mask");
        using var expected = reference.Get("qwen_bf16.logits");
        using var _ = torch.no_grad();
        using (var fp32 = Checkpoint.LoadQwen2(reference.Dir("qwen_bf16")))
        using (var logits = fp32.Forward(ids, mask))
            TensorAssert.CloseAtRealPositions(expected, logits, mask, Tolerance);
        using var bf16 = Checkpoint.LoadQwen2(reference.Dir("qwen_bf16"), ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.HeadWeight.dtype);
        using var bfLogits = bf16.Forward(ids, mask);
        Assert.Equal(ScalarType.Float32, bfLogits.dtype);
        // bf16 keeps ~3 significant digits; logits here are of order 5
        TensorAssert.CloseAtRealPositions(expected, bfLogits, mask, 0.02 * TensorAssert.MaxAbs(expected) + 0.05);
    }
}
