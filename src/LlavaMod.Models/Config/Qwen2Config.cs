using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using LlavaMod.Core;

namespace LlavaMod.Models;

/// <summary>
/// Hugging Face <c>Qwen2Config</c> (config.json of a Qwen2ForCausalLM folder) plus this toolkit's
/// optional <see cref="Moe"/> block (null for a dense model). Unknown keys round-trip through
/// <see cref="Extra"/> so a saved config keeps everything the source folder had.
/// </summary>
public sealed record Qwen2Config
{
    public string ModelType { get; init; } = "qwen2";
    public int VocabSize { get; init; } = 151936;
    public int HiddenSize { get; init; } = 896;
    public int IntermediateSize { get; init; } = 4864;
    public int NumHiddenLayers { get; init; } = 24;
    public int NumAttentionHeads { get; init; } = 14;
    public int NumKeyValueHeads { get; init; } = 2;
    public int MaxPositionEmbeddings { get; init; } = 32768;
    public double RopeTheta { get; init; } = 1_000_000.0;
    public double RmsNormEps { get; init; } = 1e-6;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Std of the normal initialisation of fresh linear and embedding weights (HF <c>initializer_range</c>).</summary>
    public double InitializerRange { get; init; } = 0.02;
    public string TorchDtype { get; init; } = "float32";
    public MoeConfig? Moe { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    string? ExtraString(string key) =>
        Extra is not null && Extra.TryGetValue(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Throws a <see cref="LlavaModException"/> naming <paramref name="source"/> when shapes cannot work.</summary>
    public Qwen2Config Validate(string source)
    {
        void Require(bool ok, string reason) { if (!ok) throw LlavaModException.ForFile(source, reason); }
        Require(VocabSize > 0 && HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0, "vocab_size, hidden_size, intermediate_size and num_hidden_layers must be positive");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0, $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        Require(InitializerRange > 0, $"initializer_range {InitializerRange} must be positive");
        Require(HeadDim % 2 == 0, $"head dimension {HeadDim} must be even for rotary embeddings");
        Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0, $"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
        Require(ExtraString("hidden_act") is null or "silu", $"hidden_act '{ExtraString("hidden_act")}' is not supported (Qwen2 uses silu)");
        Require(Extra is null || !Extra.TryGetValue("use_sliding_window", out var sliding) || sliding.ValueKind != JsonValueKind.True,
            "use_sliding_window is true; sliding-window attention is not implemented");
        Require(Extra is null || !Extra.TryGetValue("rope_scaling", out var scaling) || scaling.ValueKind == JsonValueKind.Null,
            "rope_scaling is set; only plain rotary embeddings (rope_theta) are implemented");
        Moe?.Validate(source, NumHiddenLayers);
        return this;
    }

    public static Qwen2Config Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        var node = ReadObject(path);
        return FromJson(node, path);
    }

    /// <summary>Parses a config.json object; accepts qwen2 and LLaVA(-MoD) Qwen2 model types.</summary>
    public static Qwen2Config FromJson(JsonObject node, string source)
    {
        string modelType = node["model_type"]?.GetValue<string>() ?? "";
        if (!KnownModelTypes.Contains(modelType))
            throw LlavaModException.ForFile(source, $"unknown model_type '{modelType}' (expected one of {string.Join(", ", KnownModelTypes)})");
        node = NormalizeLlavaModMoe(node, source);
        return Json.Deserialize<Qwen2Config>(node.ToJsonString(), source).Validate(source);
    }

    /// <summary>
    /// LLaVA-MoD's LLaVAMoDQwen2Config (llavamod/model/language_model/llava_qwen2_moe.py) keeps its
    /// settings in a "moe" dict that <c>initialize_moe_modules</c> fills and config.json stores as is:
    /// moe_enable, moe_mode, moe_layers_idx, ep_size, top_k_experts, capacity_factor,
    /// eval_capacity_factor, min_capacity, use_residual, router_aux_loss_coef, train_modules and
    /// num_experts (one entry per MoE layer). Read it into ours; missing keys take that class's
    /// constructor defaults. Per-layer expert counts that differ and residual MoE are not supported.
    /// </summary>
    static JsonObject NormalizeLlavaModMoe(JsonObject node, string source)
    {
        if (node["moe"] is not JsonObject moe || !moe.ContainsKey("moe_enable")) return node;
        var copy = node.DeepClone().AsObject();
        if (moe["moe_enable"]?.GetValue<bool>() != true) { copy.Remove("moe"); return copy; }
        if (moe["use_residual"]?.GetValue<bool>() == true)
            throw LlavaModException.ForFile(source, "moe.use_residual is true (residual MoE); only plain top-k MoE layers are implemented");
        int layerCount = node["num_hidden_layers"]?.GetValue<int>() ?? 0;
        var layers = moe["moe_layers_idx"] is JsonArray list ? list.Select(x => x!.GetValue<int>()).ToArray() : null;
        layers ??= (moe["moe_mode"]?.GetValue<string>() ?? "sparse") switch
        {
            "sparse" => Enumerable.Range(0, layerCount).Where(i => i % 2 == 0).ToArray(),
            "dense" => Enumerable.Range(0, layerCount).ToArray(),
            "first_half" => Enumerable.Range(0, layerCount / 2).ToArray(),
            "second_half" => Enumerable.Range(layerCount / 2, layerCount - layerCount / 2).ToArray(),
            var mode => throw LlavaModException.ForFile(source, $"moe.moe_mode '{mode}' without moe_layers_idx; expected sparse, dense, first_half or second_half"),
        };
        var experts = moe["num_experts"] switch
        {
            JsonArray counts => counts.Select(x => x!.GetValue<int>()).Distinct().ToArray(),
            JsonValue one => [one.GetValue<int>()],
            _ => [4],
        };
        if (experts.Length != 1)
            throw LlavaModException.ForFile(source, $"moe.num_experts gives MoE layers different expert counts ({string.Join(", ", experts)}); this toolkit uses one count for all MoE layers");
        copy["moe"] = new JsonObject
        {
            ["num_experts"] = experts[0],
            ["top_k"] = moe["top_k_experts"]?.GetValue<int>() ?? 2,
            ["layers"] = MoeConfig.LayerSpec(layers, layerCount),
            ["capacity_factor"] = moe["capacity_factor"]?.GetValue<double>() ?? 1.0,
            ["eval_capacity_factor"] = moe["eval_capacity_factor"]?.GetValue<double>() ?? 1.0,
            ["min_capacity"] = moe["min_capacity"]?.GetValue<int>() ?? 4,
            ["aux_loss_coef"] = moe["router_aux_loss_coef"]?.GetValue<double>() ?? 0.01,
        };
        return copy;
    }

    /// <summary>Our <see cref="MoeConfig"/> as LLaVA-MoD's "moe" dict, with the values its
    /// <c>initialize_moe_modules</c> records (moe_mode "sparse" for every other layer, "dense" for all,
    /// "custom" for an explicit list; num_experts repeated per MoE layer; no expert parallelism).</summary>
    static JsonObject LlavaModMoe(MoeConfig moe, int layerCount)
    {
        var layers = moe.LayerIndices(layerCount);
        string mode = moe.LayerSpec(layerCount) switch { "every_other" => "sparse", "all" => "dense", _ => "custom" };
        return new JsonObject
        {
            ["capacity_factor"] = moe.CapacityFactor,
            ["ep_size"] = 1,
            ["eval_capacity_factor"] = moe.EvalCapacityFactor,
            ["min_capacity"] = moe.MinCapacity,
            ["moe_enable"] = true,
            ["moe_layers_idx"] = new JsonArray(layers.Select(i => (JsonNode)i).ToArray()),
            ["moe_mode"] = mode,
            ["num_experts"] = new JsonArray(layers.Select(_ => (JsonNode)moe.NumExperts).ToArray()),
            ["router_aux_loss_coef"] = moe.AuxLossCoef,
            ["top_k_experts"] = moe.TopK,
            ["train_modules"] = new JsonArray(),
            ["use_residual"] = false,
        };
    }

    public static readonly IReadOnlyList<string> KnownModelTypes =
        ["qwen2", "llava_qwen2", "llava_qwen", "moe_llava_qwen2", "llava_mod_qwen2"];

    public void Save(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        AtomicFile.WriteAllText(path, ToJson().ToJsonString(Json.Options) + "\n");
    }

    /// <summary>config.json content; a MoE block is written in LLaVA-MoD's schema so its classes load the folder.</summary>
    public JsonObject ToJson()
    {
        var node = JsonNode.Parse(Json.Serialize(this))!.AsObject();
        if (Moe is not null) node["moe"] = LlavaModMoe(Moe, NumHiddenLayers);
        return node;
    }

    internal static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })?.AsObject()
                ?? throw LlavaModException.ForFile(path, "is empty (JSON null)");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw LlavaModException.ForFile(path, $"malformed JSON: {e.Message}", e);
        }
    }
}

/// <summary>
/// Mixture-of-experts settings of the student (docs/method.md §2). <see cref="Layers"/> is either the
/// string "every_other" (layers 0, 2, 4, …) or an explicit list of layer indices.
/// </summary>
public sealed record MoeConfig
{
    public int NumExperts { get; init; } = 4;
    public int TopK { get; init; } = 2;
    public JsonElement Layers { get; init; } = JsonSerializer.SerializeToElement("every_other");
    public double CapacityFactor { get; init; } = 1.0;
    public double EvalCapacityFactor { get; init; } = 2.0;
    public int MinCapacity { get; init; }
    public double AuxLossCoef { get; init; } = 0.01;

    /// <summary>The decoder layer indices whose MLP is a mixture of experts.</summary>
    public IReadOnlyList<int> LayerIndices(int numHiddenLayers)
    {
        if (Layers.ValueKind == JsonValueKind.String)
        {
            string spec = Layers.GetString()!;
            if (spec == "every_other") return Enumerable.Range(0, numHiddenLayers).Where(i => i % 2 == 0).ToArray();
            if (spec == "all") return Enumerable.Range(0, numHiddenLayers).ToArray();
            throw new LlavaModException($"moe.layers: unknown value '{spec}' (expected \"every_other\", \"all\" or a list of layer indices)");
        }
        if (Layers.ValueKind == JsonValueKind.Array)
            return Layers.EnumerateArray().Select(e => e.GetInt32()).Distinct().Order().ToArray();
        throw new LlavaModException("moe.layers: expected \"every_other\", \"all\" or a list of layer indices");
    }

    public static JsonElement LayerList(IEnumerable<int> layers) => JsonSerializer.SerializeToElement(layers.ToArray());

    /// <summary>"every_other" or "all" when <paramref name="layers"/> is exactly that set, else the list.</summary>
    internal static JsonNode LayerSpec(IReadOnlyList<int> layers, int numHiddenLayers) =>
        layers.SequenceEqual(Enumerable.Range(0, numHiddenLayers).Where(i => i % 2 == 0)) ? "every_other"
        : layers.SequenceEqual(Enumerable.Range(0, numHiddenLayers)) ? "all"
        : new JsonArray(layers.Select(i => (JsonNode)i).ToArray());

    /// <summary>This config's layers as <see cref="LayerSpec(IReadOnlyList{int}, int)"/> names them.</summary>
    internal string LayerSpec(int numHiddenLayers) => LayerSpec(LayerIndices(numHiddenLayers), numHiddenLayers) is JsonValue v ? v.GetValue<string>() : "custom";

    internal void Validate(string source, int numHiddenLayers)
    {
        if (NumExperts < 1) throw LlavaModException.ForFile(source, $"moe.num_experts must be at least 1 (is {NumExperts})");
        if (TopK < 1 || TopK > NumExperts) throw LlavaModException.ForFile(source, $"moe.top_k must be between 1 and num_experts {NumExperts} (is {TopK})");
        foreach (int i in LayerIndices(numHiddenLayers))
            if (i < 0 || i >= numHiddenLayers) throw LlavaModException.ForFile(source, $"moe.layers names layer {i}, but the model has {numHiddenLayers} layers");
    }
}
