using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

public class ModelPresetsTests
{
    [Fact]
    public void Counts_from_config_match_published_sizes_of_qwen2_and_clip_l336()
    {
        var info = ModelInfo.Of(ModelPresets.Get("qwen2-0.5b-clip-l336"));
        Assert.Equal(494_032_768, info.LanguageParameters);   // Qwen2-0.5B (HF model card: 0.49B, tied head)
        Assert.Equal(303_507_456, info.VisionParameters);     // CLIPVisionModel ViT-L/14 at 336 px
        Assert.Equal(1_543_714_304, ModelInfo.Of(ModelPresets.Get("qwen2-1.5b-clip-l336")).LanguageParameters); // Qwen2-1.5B
    }

    [Theory]
    [InlineData("demo-teacher")]
    [InlineData("demo-student")]
    public void Counts_from_config_equal_the_parameters_of_the_built_model(string preset)
    {
        var config = ModelPresets.Get(preset);
        using var model = Initialization.NewLlava(config, seed: 1);
        long actual = model.parameters().Sum(p => p.numel());
        Assert.Equal(ModelInfo.Of(config).TotalParameters, actual);
        Assert.Equal(9, config.Vision.NumPatches);
    }

    [Fact]
    public void Moe_counts_use_top_k_of_the_experts_for_active_parameters()
    {
        var dense = ModelPresets.Get("demo-student").Text;
        var moe = dense with { Moe = new MoeConfig { NumExperts = 4, TopK = 2 } };
        var (denseTotal, _, _) = ModelInfo.Language(dense);
        var (total, active, _) = ModelInfo.Language(moe);
        long mlp = 3L * dense.HiddenSize * dense.IntermediateSize, router = 4L * dense.HiddenSize;
        Assert.Equal(denseTotal + 3 * mlp + router, total);  // one MoE layer (every other of 2): 4 experts instead of 1
        Assert.Equal(denseTotal + mlp + router, active);     // top-2: one expert more than dense
    }

    [Fact]
    public void Initialisation_is_deterministic_per_seed()
    {
        var config = ModelPresets.Get("demo-student");
        using var a = Initialization.NewLlava(config, seed: 7);
        using var b = Initialization.NewLlava(config, seed: 7);
        using var c = Initialization.NewLlava(config, seed: 8);
        var pa = a.state_dict(); var pb = b.state_dict(); var pc = c.state_dict();
        Assert.All(pa.Keys, k => Assert.True(pa[k].allclose(pb[k], rtol: 0, atol: 0), k));
        Assert.False(pa["language_model.model.layers.0.self_attn.q_proj.weight"].allclose(pc["language_model.model.layers.0.self_attn.q_proj.weight"], rtol: 0, atol: 0));
        Assert.Equal(1f, pa["language_model.model.norm.weight"].mean().item<float>());
    }

    [Theory]
    [InlineData(0.02)]
    [InlineData(0.1)]
    public void Language_model_and_projector_follow_initializer_range_and_the_tower_keeps_0_02(double range)
    {
        var preset = ModelPresets.Get("demo-student");
        var config = preset with { Text = preset.Text with { InitializerRange = range } };
        using var model = Initialization.NewLlava(config, seed: 7);
        var state = model.state_dict();
        double Std(string name) => state[name].std().item<float>();
        Assert.InRange(Std("language_model.model.layers.0.mlp.up_proj.weight"), range * 0.95, range * 1.05);
        Assert.InRange(Std("language_model.model.embed_tokens.weight"), range * 0.99, range * 1.01);
        Assert.InRange(Std("mm_projector.0.weight"), range * 0.9, range * 1.1);
        Assert.InRange(Std("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"), 0.019, 0.021);
    }

    [Fact]
    public void A_random_demo_model_runs_a_text_and_image_batch()
    {
        TorchRuntime.EnsureLoaded();
        using var model = Initialization.NewLlava(ModelPresets.Get("demo-student"), seed: 2);
        model.VocabSubset = new VocabSubset([10, 11, 12, 151643]);
        using var pixels = torch.randn(1, 3, 48, 48);
        using var _ = torch.no_grad();
        using var output = model.Forward(new LlavaBatch
        {
            InputIds = [[10, LlavaBatch.ImageTokenIndex, 11, 12], [12, 151643]],
            Labels = [[-100, -100, 11, 12], [-100, 151643]],
            PixelValues = pixels,
        }, lossPositionsOnly: true);
        Assert.Equal(new long[] { 3, 4 }, output.Logits.shape);        // 2 + 1 labelled positions, 4 subset tokens
        Assert.Equal(new long[] { 1, 2, 3 }, output.Targets!.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 1 }, output.Rows);
        Assert.Equal(new long[] { 9, 10, 0 }, output.Positions);         // the image became 9 positions
    }
}
