using System.Text.Json;
using LlavaMod.Models.IO;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

[Collection(ReferenceCollection.Name)]
public class LlavaReferenceTests(ReferenceFixture reference)
{
    const double Tolerance = 1e-4;

    LlavaBatch Batch(Tensor pixels)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(reference.Dir("llava_batch.json")));
        long[][] Rows(string key) => doc.RootElement.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        return new LlavaBatch { InputIds = Rows("input_ids"), Labels = Rows("labels"), PixelValues = pixels };
    }

    [Fact]
    public void Image_placeholders_are_spliced_and_logits_match_pytorch()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        using var expected = reference.Get("llava.logits");
        using var expectedMask = reference.Get("llava.attention_mask");
        using var _ = torch.no_grad();
        using var output = model.Forward(Batch(pixels));
        Assert.Equal(expectedMask.data<long>().ToArray(), output.AttentionMask.data<long>().ToArray());
        // compare real positions only (padding rows are unconstrained)
        using var m = expectedMask.unsqueeze(-1).to(ScalarType.Float32);
        TensorAssert.Close(expected * m, output.Logits * m, Tolerance);
    }

    [Fact]
    public void Bf16_llava_forward_stays_close_to_the_fp64_reference()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"), ScalarType.BFloat16);
        using var pixels = reference.Get("llava.pixel_values");
        using var expected = reference.Get("llava.loss_logits");
        using var _ = torch.no_grad();
        using var output = model.Forward(Batch(pixels), lossPositionsOnly: true);
        Assert.Equal(ScalarType.Float32, output.Logits.dtype);
        // measured: max difference ≈ 0.04 on logits of magnitude ≈ 5
        TensorAssert.Close(expected, output.Logits, 0.02 * TensorAssert.MaxAbs(expected) + 0.05);
    }

    [Fact]
    public void Loss_positions_only_runs_the_head_where_the_next_token_has_a_label()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        using var expected = reference.Get("llava.loss_logits");
        using var targets = reference.Get("llava.loss_targets");
        using var _ = torch.no_grad();
        using var output = model.Forward(Batch(pixels), lossPositionsOnly: true);
        TensorAssert.Close(expected, output.Logits, Tolerance);
        Assert.Equal(targets.data<long>().ToArray(), output.Targets!.data<long>().ToArray());
    }

    [Fact]
    public void Loss_positions_with_a_vocab_subset_gather_columns_and_map_targets()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        using var expected = reference.Get("llava.loss_logits");
        using var targets = reference.Get("llava.loss_targets");
        var ids = targets.data<long>().ToArray().Select(t => (int)t).Distinct().Append(0).Append(60).ToArray();
        model.VocabSubset = new VocabSubset(ids);
        using var _ = torch.no_grad();
        using var output = model.Forward(Batch(pixels), lossPositionsOnly: true);
        using var gathered = expected.index_select(1, torch.tensor(ids.Select(i => (long)i).ToArray()));
        TensorAssert.Close(gathered, output.Logits, Tolerance);
        var mapped = output.Targets!.data<long>().ToArray().Select(i => ids[i]);
        Assert.Equal(targets.data<long>().ToArray(), mapped.Select(i => (long)i));
    }

    [Fact]
    public void State_dict_names_follow_the_llava_mod_layout_of_the_file()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        var file = SafeTensorsFolder.Open(reference.Dir("llava"));
        var mapped = model.state_dict().Keys.Select(k => Checkpoint.LlavaFileNames(k, model.Config.ProjectorType)[0]);
        Assert.Equal(file.Names.Order(StringComparer.Ordinal), mapped.Order(StringComparer.Ordinal));
        Assert.Contains("model.image_tower.image_tower.vision_model.encoder.layers.0.self_attn.k_proj.weight", file.Names);
        Assert.Contains("model.mm_projector.image_spatial_proj.2.weight", file.Names);
    }

    [Fact]
    public void Precomputed_tower_features_give_the_same_logits_as_pixels()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        using var _ = torch.no_grad();
        using var features = model.VisionTower.Features(pixels);
        using var fromPixels = model.Forward(Batch(pixels));
        var batch = Batch(pixels);
        using var fromFeatures = model.Forward(new LlavaBatch { InputIds = batch.InputIds, Labels = batch.Labels, ImageFeatures = features });
        TensorAssert.Close(fromPixels.Logits, fromFeatures.Logits, 0);
    }

    [Fact]
    public void Prefill_with_cache_then_per_row_positions_continues_like_the_full_forward()
    {
        // The generation flow: prefill a right-padded image batch into a cache, then feed each row's
        // next token at position Lengths[r] with a mask that hides the padding.
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        var full = Batch(pixels);
        var prompts = new LlavaBatch { InputIds = full.InputIds.Select(r => r[..^1]).ToArray(), PixelValues = pixels };
        long[] next = full.InputIds.Select(r => r[^1]).ToArray();
        using var _ = torch.no_grad();
        using var expected = model.Forward(full);
        using var inputs = model.Prepare(prompts);
        using var cache = model.LanguageModel.NewCache();
        using var prefill = model.Hidden(inputs, cache);
        long t = inputs.Embeds.shape[1];
        using var mask = torch.cat([inputs.AttentionMask, torch.ones(next.Length, 1, dtype: ScalarType.Int64)], dim: 1);
        using var ids = torch.tensor(next).view(next.Length, 1);
        using var positions = torch.tensor(inputs.Lengths.Select(l => (long)l).ToArray()).view(next.Length, 1);
        using var step = model.LanguageModel.Forward(ids, mask, positions, cache);
        Assert.Equal(t + 1, cache.Length);
        for (int r = 0; r < next.Length; r++)
        {
            int fullPosition = inputs.Lengths[r]; // where the last token sits in the full batch
            TensorAssert.Close(expected.Logits[r, fullPosition], step[r, 0], Tolerance);
        }
    }

    [Fact]
    public void Placeholder_and_image_counts_must_agree()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        using var pixels = reference.Get("llava.pixel_values");
        var batch = new LlavaBatch { InputIds = [[1, LlavaBatch.ImageTokenIndex, 2]], PixelValues = pixels };
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() => model.Forward(batch));
        Assert.Contains("1 image placeholders but 3 images", e.Message);
    }
}
