using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Generation;

/// <summary>Small randomly initialised Qwen2 / LLaVA models for generation and upcycling tests.</summary>
public static class TinyModels
{
    public static Qwen2Config TextConfig(int vocab = 61) => new()
    {
        VocabSize = vocab, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 4,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256, RopeTheta = 10000,
    };

    public static ClipVisionConfig VisionConfig() => new()
    {
        HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, ImageSize = 28, PatchSize = 14,
    };

    /// <summary>Weights drawn from a seeded generator: N(0, 0.15²), norm weights around 1.</summary>
    public static T Randomise<T>(T module, ulong seed) where T : nn.Module
    {
        var g = new Generator(seed);
        using var _ = no_grad();
        foreach (var (name, p) in module.named_parameters())
        {
            var noise = randn(p.shape, generator: g).MulScalar(0.15);
            p.copy_(name.Contains("norm") ? noise.AddScalar(1.0) : noise);
        }
        return module;
    }

    public static Qwen2ForCausalLM Qwen2(ulong seed = 1, int vocab = 61) => Randomise(new Qwen2ForCausalLM(TextConfig(vocab)), seed);

    public static LlavaModel Llava(ulong seed = 1) =>
        Randomise(new LlavaModel(new LlavaConfig(TextConfig(), VisionConfig(), "mlp2x_gelu", -2, "tiny-clip")), seed);
}
