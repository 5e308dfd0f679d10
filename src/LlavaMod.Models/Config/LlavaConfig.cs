using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Models;

/// <summary>
/// config.json of a LLaVA checkpoint folder in LLaVA-MoD's layout: the Qwen2 keys at top level
/// plus mm_image_tower, image_projector_type, mm_hidden_size, mm_vision_select_layer,
/// mm_vision_select_feature ("patch") and, our addition so the folder is self-contained,
/// vision_config (the CLIPVisionConfig of the tower whose weights are in the same folder).
/// model_type is "llava_qwen2" for dense and "moe_llava_qwen2" for MoE models, as in LLaVA-MoD.
/// </summary>
public sealed record LlavaConfig(Qwen2Config Text, ClipVisionConfig Vision, string ProjectorType = "mlp2x_gelu", int VisionSelectLayer = -2, string ImageTower = "")
{
    public const string DenseModelType = "llava_qwen2";
    public const string MoeModelType = "moe_llava_qwen2";

    static readonly string[] LlavaKeys = ["mm_image_tower", "image_projector_type", "mm_hidden_size", "mm_vision_select_layer", "mm_vision_select_feature", "vision_config", "image_token_index", "mm_projector_type", "mm_vision_tower"];

    public JsonObject ToJson()
    {
        var node = Text.ToJson();
        bool moe = Text.Moe is not null;
        node["model_type"] = moe ? MoeModelType : DenseModelType;
        node["architectures"] = new JsonArray(moe ? "LLaVAMoDQwen2ForCausalLM" : "LlavaQwen2ForCausalLM");
        node["mm_image_tower"] = ImageTower;
        node["image_projector_type"] = ProjectorType;
        node["mm_hidden_size"] = Vision.HiddenSize;
        node["mm_vision_select_layer"] = VisionSelectLayer;
        node["mm_vision_select_feature"] = "patch";
        node["image_token_index"] = LlavaBatch.ImageTokenIndex;
        node["vision_config"] = Vision.ToJson();
        return node;
    }

    public void Save(string folder) =>
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), ToJson().ToJsonString(Json.Options) + "\n");

    public static LlavaConfig Load(string folder)
    {
        string path = Path.Combine(folder, "config.json");
        var node = Qwen2Config.ReadObject(path);
        string modelType = node["model_type"]?.GetValue<string>() ?? "";
        if (modelType == "qwen2")
            throw LlavaModException.ForFile(path, "model_type qwen2 is a language model without a vision tower; assemble a LLaVA model with 'Checkpoint.Assemble' (llavamod model assemble) first");
        string tower = node["mm_image_tower"]?.GetValue<string>() ?? node["mm_vision_tower"]?.GetValue<string>() ?? "";
        ClipVisionConfig vision;
        if (node["vision_config"] is JsonObject visionNode) vision = ClipVisionConfig.FromJson(visionNode, path);
        else
        {
            // A LLaVA-MoD / LLaVA folder names its tower (a hub name or a path); use it when it is a local CLIP folder.
            string towerFolder = Path.IsPathRooted(tower) ? tower : Path.Combine(folder, tower);
            if (tower.Length == 0 || !File.Exists(Path.Combine(towerFolder, "config.json")))
                throw LlavaModException.ForFile(path, $"no vision_config, and mm_image_tower '{tower}' is not a local CLIP folder; put the CLIP config there or add vision_config");
            vision = ClipVisionConfig.Load(towerFolder);
        }
        string feature = node["mm_vision_select_feature"]?.GetValue<string>() ?? "patch";
        if (feature != "patch") throw LlavaModException.ForFile(path, $"mm_vision_select_feature '{feature}' is not supported (patch)");
        string projector = node["image_projector_type"]?.GetValue<string>() ?? node["mm_projector_type"]?.GetValue<string>() ?? "mlp2x_gelu";
        int selectLayer = node["mm_vision_select_layer"]?.GetValue<int>() ?? -2;
        var textNode = node.DeepClone().AsObject();
        foreach (var key in LlavaKeys) textNode.Remove(key);
        textNode.Remove("architectures");
        var text = Qwen2Config.FromJson(textNode, path);
        return new LlavaConfig(text with { ModelType = "qwen2" }, vision, projector, selectLayer, tower);
    }
}
