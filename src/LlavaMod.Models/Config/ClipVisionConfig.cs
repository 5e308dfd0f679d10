using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using LlavaMod.Core;

namespace LlavaMod.Models;

/// <summary>
/// Hugging Face <c>CLIPVisionConfig</c> plus the image processor's mean/std. Loads from a
/// CLIPVisionModel folder (model_type clip_vision_model), a full CLIP folder (model_type clip,
/// its <c>vision_config</c>) and reads preprocessor_config.json beside it when present.
/// </summary>
public sealed record ClipVisionConfig
{
    public static readonly float[] OpenAiClipMean = [0.48145466f, 0.4578275f, 0.40821073f];
    public static readonly float[] OpenAiClipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    public string ModelType { get; init; } = "clip_vision_model";
    public int HiddenSize { get; init; } = 1024;
    public int IntermediateSize { get; init; } = 4096;
    public int NumHiddenLayers { get; init; } = 24;
    public int NumAttentionHeads { get; init; } = 16;
    public int ImageSize { get; init; } = 336;
    public int PatchSize { get; init; } = 14;
    public int NumChannels { get; init; } = 3;
    public double LayerNormEps { get; init; } = 1e-5;
    public string HiddenAct { get; init; } = "quick_gelu";
    public float[] ImageMean { get; init; } = OpenAiClipMean;
    public float[] ImageStd { get; init; } = OpenAiClipStd;

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public int PatchesPerSide => ImageSize / PatchSize;
    [JsonIgnore] public int NumPatches => PatchesPerSide * PatchesPerSide;
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    public ClipVisionConfig Validate(string source)
    {
        void Require(bool ok, string reason) { if (!ok) throw LlavaModException.ForFile(source, reason); }
        Require(HiddenSize > 0 && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0, $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        Require(PatchSize > 0 && ImageSize % PatchSize == 0, $"image_size {ImageSize} is not a multiple of patch_size {PatchSize}");
        Require(HiddenAct is "quick_gelu" or "gelu", $"hidden_act '{HiddenAct}' is not supported (quick_gelu, gelu)");
        Require(ImageMean.Length == NumChannels && ImageStd.Length == NumChannels, $"image_mean/image_std need {NumChannels} values");
        Require(NumHiddenLayers > 0, "num_hidden_layers must be positive");
        return this;
    }

    /// <summary>Loads from a folder (config.json + optional preprocessor_config.json).</summary>
    public static ClipVisionConfig Load(string folder)
    {
        string configPath = Path.Combine(folder, "config.json");
        var node = Qwen2Config.ReadObject(configPath);
        string modelType = node["model_type"]?.GetValue<string>() ?? "";
        JsonObject vision = modelType switch
        {
            "clip_vision_model" => node,
            "clip" => node["vision_config"]?.AsObject() ?? throw LlavaModException.ForFile(configPath, "model_type clip without vision_config"),
            _ => throw LlavaModException.ForFile(configPath, $"unknown model_type '{modelType}' for a vision tower (expected clip or clip_vision_model)"),
        };
        var config = FromJson(vision, configPath);
        string processorPath = Path.Combine(folder, "preprocessor_config.json");
        if (File.Exists(processorPath))
        {
            var p = Qwen2Config.ReadObject(processorPath);
            config = config with
            {
                ImageMean = p["image_mean"]?.Deserialize<float[]>() ?? config.ImageMean,
                ImageStd = p["image_std"]?.Deserialize<float[]>() ?? config.ImageStd,
            };
        }
        return config.Validate(configPath);
    }

    public static ClipVisionConfig FromJson(JsonObject node, string source)
    {
        var copy = JsonNode.Parse(node.ToJsonString())!.AsObject();
        copy["model_type"] = "clip_vision_model";
        return Json.Deserialize<ClipVisionConfig>(copy.ToJsonString(), source).Validate(source);
    }

    public JsonObject ToJson() => JsonNode.Parse(Json.Serialize(this))!.AsObject();

    /// <summary>Writes config.json (CLIPVisionModel) and preprocessor_config.json into <paramref name="folder"/>.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var config = ToJson();
        config["architectures"] ??= new JsonArray("CLIPVisionModel");
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(Json.Options) + "\n");
        var processor = new JsonObject
        {
            ["image_processor_type"] = "CLIPImageProcessor",
            ["crop_size"] = new JsonObject { ["height"] = ImageSize, ["width"] = ImageSize },
            ["size"] = new JsonObject { ["shortest_edge"] = ImageSize },
            ["image_mean"] = new JsonArray(ImageMean.Select(v => (JsonNode)v).ToArray()),
            ["image_std"] = new JsonArray(ImageStd.Select(v => (JsonNode)v).ToArray()),
            ["do_normalize"] = true,
            ["resample"] = 3,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "preprocessor_config.json"), processor.ToJsonString(Json.Options) + "\n");
    }
}
