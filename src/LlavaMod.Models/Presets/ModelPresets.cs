using LlavaMod.Core;

namespace LlavaMod.Models;

/// <summary>
/// Named LLaVA configurations. The demo ones follow docs/demo.md ("Sizes and steps that fit"): CLIP
/// vision module with a tiny config (48 px images, patch 16 → 9 image tokens, width 96, 2 layers,
/// features from the last layer), teacher LLM width 128 × 4 layers, student width 96 × 2 layers,
/// both with Qwen's full 151,936-row vocabulary (tied; the demo trains on a vocabulary subset).
/// The real ones have the shapes of Qwen2-0.5B / Qwen2-1.5B and openai/clip-vit-large-patch14-336.
/// </summary>
public static class ModelPresets
{
    public const int QwenVocabSize = 151936;

    static readonly ClipVisionConfig DemoVision = new()
    {
        HiddenSize = 96, IntermediateSize = 384, NumHiddenLayers = 2, NumAttentionHeads = 2,
        ImageSize = 48, PatchSize = 16,
    };

    static readonly ClipVisionConfig ClipL336 = new()
    {
        HiddenSize = 1024, IntermediateSize = 4096, NumHiddenLayers = 24, NumAttentionHeads = 16,
        ImageSize = 336, PatchSize = 14,
    };

    static Qwen2Config Demo(int width, int layers, int intermediate) => new()
    {
        VocabSize = QwenVocabSize, HiddenSize = width, IntermediateSize = intermediate, NumHiddenLayers = layers,
        NumAttentionHeads = 2, NumKeyValueHeads = 1, MaxPositionEmbeddings = 2048, RopeTheta = 10000.0,
        RmsNormEps = 1e-6, TieWordEmbeddings = true, InitializerRange = DemoInitializerRange,
    };

    /// <summary>
    /// The demo LLMs start from N(0, 0.1) weights, not Hugging Face's 0.02: at width 96–128 a
    /// teacher initialised at 0.02 never learned to find a named object among the image tokens
    /// (yes/no 0.52, at chance even on its training scenes, after 600 steps), while at 0.1 it
    /// reached yes/no 0.82 in 300 steps; 0.2 did not train (docs/demo-results.md, run 5 probes).
    /// </summary>
    public const double DemoInitializerRange = 0.1;

    public static readonly IReadOnlyDictionary<string, LlavaConfig> All = new Dictionary<string, LlavaConfig>
    {
        ["demo-teacher"] = new(Demo(128, 4, 336), DemoVision, "mlp2x_gelu", -1, "demo-vision"),
        ["demo-student"] = new(Demo(96, 2, 256), DemoVision, "mlp2x_gelu", -1, "demo-vision"),
        ["qwen2-0.5b-clip-l336"] = new(new Qwen2Config
        {
            VocabSize = QwenVocabSize, HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24,
            NumAttentionHeads = 14, NumKeyValueHeads = 2, MaxPositionEmbeddings = 32768, RopeTheta = 1_000_000.0,
            RmsNormEps = 1e-6, TieWordEmbeddings = true, TorchDtype = "bfloat16",
        }, ClipL336, "mlp2x_gelu", -2, "openai/clip-vit-large-patch14-336"),
        ["qwen2-1.5b-clip-l336"] = new(new Qwen2Config
        {
            VocabSize = QwenVocabSize, HiddenSize = 1536, IntermediateSize = 8960, NumHiddenLayers = 28,
            NumAttentionHeads = 12, NumKeyValueHeads = 2, MaxPositionEmbeddings = 32768, RopeTheta = 1_000_000.0,
            RmsNormEps = 1e-6, TieWordEmbeddings = true, TorchDtype = "bfloat16",
        }, ClipL336, "mlp2x_gelu", -2, "openai/clip-vit-large-patch14-336"),
    };

    public static LlavaConfig Get(string name) =>
        All.TryGetValue(name, out var config) ? config
        : throw new LlavaModException($"unknown preset '{name}' (known: {string.Join(", ", All.Keys)})");
}
