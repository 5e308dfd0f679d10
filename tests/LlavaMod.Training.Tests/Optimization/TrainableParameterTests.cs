using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Optimization;

public class TrainableParameterTests
{
    [Theory]
    [InlineData("model.layers.0.mlp.deepspeed_moe.experts.deepspeed_experts.1.gate_proj.weight", true)]
    [InlineData("model.layers.12.mlp.deepspeed_moe.gate.wg.weight", true)]
    [InlineData("model.mm_projector.0.bias", true)]
    [InlineData("model.layers.1.mlp.gate_proj.weight", false)]
    [InlineData("model.layers.0.self_attn.q_proj.weight", false)]
    [InlineData("model.embed_tokens.weight", false)]
    [InlineData("lm_head.weight", true)]
    [InlineData("lm_head.weight.extra", false)]
    public void Globs_match_whole_hf_names_and_star_crosses_dots(string name, bool expected)
    {
        var patterns = new ParameterPatterns(["model.layers.*.mlp.deepspeed_moe.*", "model.mm_projector.*", "re:lm_head\\.(weight|bias)"]);
        Assert.Equal(expected, patterns.Matches(name));
    }

    static Sequential TinyModel() => nn.Sequential(
        ("model", nn.Sequential(
            ("mm_projector", nn.Sequential(("0", nn.Linear(4, 4)))),
            ("layers", nn.Sequential(("0", nn.Sequential(("mlp", nn.Linear(4, 4)), ("input_layernorm", nn.LayerNorm(4)))))),
            ("norm", nn.LayerNorm(4)))),
        ("lm_head", nn.Linear(4, 3, hasBias: false)));

    [Fact]
    public void Frozen_parameters_stay_bit_identical_after_optimizer_steps_and_counts_add_up()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(3);
        using var model = TinyModel();
        var selection = TrainableParameters.Select(model, new ParameterPatterns(["model.mm_projector.*", "lm_head.*"]));
        Assert.Equal(["model.mm_projector.0.weight", "model.mm_projector.0.bias", "lm_head.weight"], selection.Trainable.Select(t => t.Name).ToArray());
        Assert.Equal(16 + 4 + 12, selection.TrainableElements);
        Assert.Equal(model.parameters().Sum(p => p.numel()), selection.TrainableElements + selection.FrozenElements);

        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var optimizer = AdamWSetup.Create(selection.Trainable, new AdamWSettings(1e-2, WeightDecay: 0.1));
        var x = randn(5, 4);
        for (int step = 0; step < 3; step++)
        {
            optimizer.zero_grad();
            model.call(x).pow(LongLivedScalars.IntTwo).sum().backward();
            GradientClipping.ClipGlobalNorm(selection.Trainable.Select(t => t.Parameter), 1.0);
            optimizer.step();
        }
        foreach (var (name, p) in model.named_parameters())
        {
            bool changed = !Bits(p).SequenceEqual(Bits(before[name]));
            Assert.True(changed == selection.Trainable.Any(t => t.Name == name), $"{name}: changed={changed}");
            Assert.Equal(selection.Trainable.Any(t => t.Name == name), p.requires_grad);
        }
    }

    static int[] Bits(Tensor t) => t.detach().contiguous().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void A_pattern_that_matches_nothing_is_an_error_naming_it()
    {
        TorchRuntime.EnsureLoaded();
        using var model = TinyModel();
        var e = Assert.Throws<LlavaModException>(() => TrainableParameters.Select(model, new ParameterPatterns(["model.mm_projectr.*", "lm_head.*"])));
        Assert.Contains("'model.mm_projectr.*'", e.Message);
    }

    [Fact]
    public void Weight_decay_skips_biases_and_norm_weights()
    {
        TorchRuntime.EnsureLoaded();
        Assert.True(AdamWSetup.DecaysWeight("model.layers.0.mlp.gate_proj.weight"));
        Assert.True(AdamWSetup.DecaysWeight("model.embed_tokens.weight"));
        Assert.False(AdamWSetup.DecaysWeight("model.layers.0.self_attn.q_proj.bias"));
        Assert.False(AdamWSetup.DecaysWeight("model.layers.3.input_layernorm.weight"));
        Assert.False(AdamWSetup.DecaysWeight("model.norm.weight"));
        Assert.False(AdamWSetup.DecaysWeight("vision_tower.vision_model.pre_layrnorm.weight"));

        // With zero gradients AdamW's update is pure decoupled decay: p ← p·(1 − lr·wd).
        using var model = TinyModel();
        var selection = TrainableParameters.Select(model, new ParameterPatterns(["*"]));
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var optimizer = AdamWSetup.Create(selection.Trainable, new AdamWSettings(0.1, WeightDecay: 0.5));
        foreach (var p in model.parameters()) p.mul(LongLivedScalars.IntZero).sum().backward();
        optimizer.step();
        foreach (var (name, p) in model.named_parameters())
        {
            var expected = AdamWSetup.DecaysWeight(name) ? before[name].MulScalar(1 - 0.1 * 0.5) : before[name];
            Assert.True(p.detach().allclose(expected, rtol: 1e-6, atol: 1e-7), name);
        }
    }

    [Fact]
    public void Clipping_returns_the_pre_clip_norm_and_scales_to_the_limit()
    {
        TorchRuntime.EnsureLoaded();
        var a = new Parameter(zeros(2)); var b = new Parameter(zeros(1));
        (a * tensor(new float[] { 3, 0 })).sum().backward();
        (b * tensor(new float[] { 4 })).sum().backward();
        double norm = GradientClipping.ClipGlobalNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 5);
        Assert.Equal(new[] { 0.6f, 0f }, a.grad!.data<float>().ToArray().Select(v => MathF.Round(v, 5)).ToArray());
        Assert.Equal(0.8f, b.grad!.item<float>(), 5);
    }
}
