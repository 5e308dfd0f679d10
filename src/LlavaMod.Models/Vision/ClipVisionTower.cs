using LlavaMod.Models.Runtime;
using LlavaMod.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>HF CLIPVisionEmbeddings: patch conv (no bias), class embedding, learned positions.</summary>
public sealed class ClipVisionEmbeddings : nn.Module<Tensor, Tensor>
{
    readonly Parameter class_embedding;
    readonly Conv2d patch_embedding;
    readonly Embedding position_embedding;

    public ClipVisionEmbeddings(ClipVisionConfig config) : base(nameof(ClipVisionEmbeddings))
    {
        class_embedding = new Parameter(torch.randn(config.HiddenSize));
        patch_embedding = nn.Conv2d(config.NumChannels, config.HiddenSize, config.PatchSize, stride: config.PatchSize, bias: false);
        position_embedding = nn.Embedding(config.NumPatches + 1, config.HiddenSize);
        register_parameter("class_embedding", class_embedding);
        register_module("patch_embedding", patch_embedding);
        register_module("position_embedding", position_embedding);
    }

    /// <summary>pixel values [B, C, H, W] → embeddings [B, 1 + patches, width].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = torch.NewDisposeScope();
        long b = pixelValues.shape[0];
        var patches = patch_embedding.forward(pixelValues.to(patch_embedding.weight!.dtype)).flatten(2).transpose(1, 2);
        var cls = class_embedding.to(patches.dtype).expand(b, 1, -1);
        var x = torch.cat([cls, patches], dim: 1);
        return x.Plus(position_embedding.weight!.to(x.dtype).unsqueeze(0)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF CLIPVisionTransformer: embeddings, pre_layrnorm, encoder.layers.N, post_layernorm.</summary>
public sealed class ClipVisionTransformer : nn.Module
{
    readonly ClipVisionEmbeddings embeddings;
    readonly LayerNorm pre_layrnorm, post_layernorm;
    readonly ClipEncoder encoder;

    public ClipVisionTransformer(ClipVisionConfig config) : base(nameof(ClipVisionTransformer))
    {
        embeddings = new ClipVisionEmbeddings(config);
        pre_layrnorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        encoder = new ClipEncoder(config);
        post_layernorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        register_module("embeddings", embeddings);
        register_module("pre_layrnorm", pre_layrnorm);
        register_module("encoder", encoder);
        register_module("post_layernorm", post_layernorm);
    }

    /// <summary>HF hidden_states[index]: 0 is pre_layrnorm(embeddings), i is the output of layer i-1.</summary>
    public Tensor HiddenState(Tensor pixelValues, int index)
    {
        using var scope = torch.NewDisposeScope();
        var x = ClipEncoderLayer.LayerNormFp32(pre_layrnorm, embeddings.forward(pixelValues));
        for (int i = 0; i < index; i++) x = encoder.Layers[i].forward(x);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>post_layernorm of the last layer's CLS token (HF pooler_output).</summary>
    public Tensor Pooled(Tensor pixelValues)
    {
        using var scope = torch.NewDisposeScope();
        var last = HiddenState(pixelValues, encoder.Layers.Count);
        return ClipEncoderLayer.LayerNormFp32(post_layernorm, last[.., 0, ..]).MoveToOuterDisposeScope();
    }

    sealed class ClipEncoder : nn.Module
    {
        readonly ModuleList<ClipEncoderLayer> layers = new();

        public ClipEncoder(ClipVisionConfig config) : base(nameof(ClipEncoder))
        {
            for (int i = 0; i < config.NumHiddenLayers; i++) layers.Add(new ClipEncoderLayer(config));
            register_module("layers", layers);
        }

        public ModuleList<ClipEncoderLayer> Layers => layers;
    }
}

/// <summary>
/// The CLIP vision tower as LLaVA uses it (HF CLIPVisionModel, parameters under "vision_model."):
/// <see cref="Features"/> returns hidden_states[select_layer] with the CLS token dropped
/// (LLaVA's mm_vision_select_feature "patch"), [B, patches, width].
/// </summary>
public sealed class ClipVisionTower : nn.Module
{
    readonly ClipVisionTransformer vision_model;

    public ClipVisionTower(ClipVisionConfig config, int selectLayer = -2) : base(nameof(ClipVisionTower))
    {
        config.Validate("CLIP vision config");
        Config = config;
        int index = selectLayer < 0 ? config.NumHiddenLayers + 1 + selectLayer : selectLayer;
        if (index < 0 || index > config.NumHiddenLayers)
            throw new LlavaModException($"mm_vision_select_layer {selectLayer} is outside the {config.NumHiddenLayers}-layer vision tower");
        SelectLayer = selectLayer;
        SelectedHiddenStateIndex = index;
        vision_model = new ClipVisionTransformer(config);
        register_module("vision_model", vision_model);
    }

    public ClipVisionConfig Config { get; }
    public int SelectLayer { get; }
    public int SelectedHiddenStateIndex { get; }
    public ClipVisionTransformer VisionModel => vision_model;
    public int Width => Config.HiddenSize;

    /// <summary>Patch features [B, patches, width] of pixel values [B, C, H, W].</summary>
    public Tensor Features(Tensor pixelValues)
    {
        if (pixelValues.dim() != 4 || pixelValues.shape[2] != Config.ImageSize || pixelValues.shape[3] != Config.ImageSize || pixelValues.shape[1] != Config.NumChannels)
            throw new LlavaModException($"pixel values have shape [{string.Join(", ", pixelValues.shape)}], the vision tower expects [B, {Config.NumChannels}, {Config.ImageSize}, {Config.ImageSize}]");
        using var scope = torch.NewDisposeScope();
        var hidden = vision_model.HiddenState(pixelValues, SelectedHiddenStateIndex);
        return hidden[.., 1.., ..].MoveToOuterDisposeScope();
    }
}
