using System.Text.Json;
using LlavaMod.Models.IO;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Precision;

/// <summary>
/// bf16 mixed precision (fp32 weights, bf16 matmuls) against the float64 PyTorch reference: logits must stay
/// within 2 % of the largest reference logit, while the fp32 path stays within 1e-4 of the same reference.
/// </summary>
[Collection(ReferenceCollection.Name)]
public class MixedPrecisionReferenceTests(ReferenceFixture reference)
{
    const double RelativeTolerance = 2e-2;

    [Theory]
    [InlineData("qwen_untied")]
    [InlineData("qwen_tied")]
    public void Bf16_logits_of_a_padded_batch_stay_within_2_percent_of_the_reference(string folder)
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir(folder));
        using var ids = reference.Get("qwen.input_ids");
        using var mask = reference.Get("qwen.attention_mask");
        using var expected = reference.Get(folder + ".logits");
        using var _ = torch.no_grad();
        Tensor logits;
        using (Autocast.Enter(ComputePrecision.Bf16)) logits = model.Forward(ids, mask);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        double max = TensorAssert.MaxAbs(expected);
        TensorAssert.CloseAtRealPositions(expected, logits, mask, RelativeTolerance * max);
        // and bf16 really ran: the result differs from fp32 by more than fp32 rounding
        using var fp32 = model.Forward(ids, mask);
        TensorAssert.CloseAtRealPositions(expected, fp32, mask, 1e-4);
        using var difference = (logits - fp32).abs().max(); // padding positions are zeros in both
        Assert.True(difference.item<float>() > 1e-4, $"bf16 logits equal fp32 ones (max difference {difference.item<float>()}): nothing ran in bf16");
    }

    [Fact]
    public void Bf16_llava_forward_with_images_stays_within_2_percent_of_the_reference()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        using var expected = reference.Get("llava.loss_logits");
        using var doc = JsonDocument.Parse(File.ReadAllText(reference.Dir("llava_batch.json")));
        long[][] Rows(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        var batch = new LlavaBatch { InputIds = Rows("input_ids"), Labels = Rows("labels"), PixelValues = pixels };
        using var _ = torch.no_grad();
        using var scope = Autocast.Enter(ComputePrecision.Bf16);
        using var output = model.Forward(batch, lossPositionsOnly: true);
        Assert.Equal(ScalarType.Float32, output.Logits.dtype);
        TensorAssert.Close(expected, output.Logits, RelativeTolerance * TensorAssert.MaxAbs(expected));
    }

    [Fact]
    public void Kv_cache_decoding_in_bf16_matches_the_reference_step_by_step()
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_untied"));
        using var ids = reference.Get("qwen.input_ids");
        using var mask = reference.Get("qwen.attention_mask");
        using var expected = reference.Get("qwen_untied.logits");
        double tolerance = RelativeTolerance * TensorAssert.MaxAbs(expected);
        using var _ = torch.no_grad();
        using var autocast = Autocast.Enter(ComputePrecision.Bf16);
        using var cache = model.NewCache();
        using (var prefix = model.Forward(ids[..2, ..4], mask[..2, ..4], cache: cache))
            TensorAssert.Close(expected[..2, ..4], prefix, tolerance);
        Assert.Equal(ScalarType.BFloat16, cache.Keys(0)!.dtype); // the cache holds what attention consumes
        for (int t = 4; t < 6; t++)
        {
            using var step = model.Forward(ids[..2, t..(t + 1)], mask[..2, ..(t + 1)], cache: cache);
            TensorAssert.Close(expected[..2, t..(t + 1)], step, tolerance);
        }
    }
}
