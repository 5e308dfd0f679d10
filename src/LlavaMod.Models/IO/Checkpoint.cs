using System.Text.Json;
using LlavaMod.Core;
using LlavaMod.Models.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Loads and saves models as Hugging Face-style folders (config.json + safetensors, sharded
/// above 2 GiB, tokenizer files beside them).
///
/// Tensor names of the LLaVA folder follow LLaVA-MoD (shufangxun/LLaVA-MoD, llavamod/model/
/// llava_arch.py, multimodal_encoder/clip_encoder.py, multimodal_projector/builder.py): the class
/// LLaVAMoDQwen2ForCausalLM holds "model" (Qwen2Model + LlavaMetaModel) and "lm_head"; the
/// vision tower is model.image_tower (a CLIPVisionTower whose CLIPVisionModel is its attribute
/// image_tower), the projector is model.mm_projector (build_projector) whose image part is
/// image_spatial_proj = nn.Sequential(Linear, GELU, Linear) for mlp2x_gelu, a bare Linear for
/// linear. Hence:
///   model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj.weight, …, model.norm.weight, lm_head.weight
///   model.image_tower.image_tower.vision_model.embeddings.patch_embedding.weight, ….encoder.layers.{i}.self_attn.k_proj.weight, …
///   model.mm_projector.image_spatial_proj.0.weight / .2.weight (linear: model.mm_projector.image_spatial_proj.weight)
/// haotian-liu/LLaVA's names are accepted on load as well: model.vision_tower.vision_tower.vision_model.…,
/// model.mm_projector.0.weight / .2.weight (linear: model.mm_projector.weight).
/// MoE layers (LLaVA-MoD wraps each chosen MLP in DeepSpeed's MoE, deepspeed 0.9.5 moe/layer.py,
/// sharded_moe.py, experts.py) are stored as
///   model.layers.{i}.mlp.deepspeed_moe.gate.wg.weight                               [E, hidden]
///   model.layers.{i}.mlp.deepspeed_moe.experts.deepspeed_experts.{e}.gate_proj.weight (up_proj, down_proj)
/// which the MoE module reproduces by registering those children under "mlp".
/// </summary>
public static class Checkpoint
{
    const string LlmPrefix = "language_model.";
    const string TowerPrefix = "vision_tower.";
    const string ProjectorPrefix = "mm_projector.";
    static readonly string[] TowerFilePrefixes = ["model.image_tower.image_tower.", "model.vision_tower.vision_tower."];
    static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json", "generation_config.json", "chat_template.json"];

    /// <summary>LLaVA-MoD file names of a <see cref="LlavaModel"/> state-dict entry (first = the name written).</summary>
    public static IReadOnlyList<string> LlavaFileNames(string moduleName, string projectorType)
    {
        if (moduleName.StartsWith(LlmPrefix)) return [moduleName[LlmPrefix.Length..]];
        if (moduleName.StartsWith(TowerPrefix))
            return TowerFilePrefixes.Select(p => p + moduleName[TowerPrefix.Length..]).ToArray();
        if (moduleName.StartsWith(ProjectorPrefix))
        {
            string rest = moduleName[ProjectorPrefix.Length..];
            if (projectorType == "linear" && rest.StartsWith("0.")) rest = rest[2..];
            return ["model.mm_projector.image_spatial_proj." + rest, "model.mm_projector." + rest];
        }
        throw new ArgumentException($"no file name mapping for '{moduleName}'");
    }

    /// <summary>Loads a LLaVA folder written by <see cref="Save"/> (dense or MoE), with its vocabulary subset if any.</summary>
    public static LlavaModel Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null, FeedForwardFactory? moeFactory = null)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var config = LlavaConfig.Load(folder);
        CheckTokenizerFits(folder, config.Text.VocabSize);
        var model = new LlavaModel(config, moeFactory);
        var files = SafeTensorsFolder.Open(folder);
        var used = WeightLoading.LoadInto(model, files, name => LlavaFileNames(name, config.ProjectorType));
        WeightLoading.RejectUnexpected(files, used, n => IgnorableText(n, config.Text) || n.EndsWith("embeddings.position_ids"));
        model.VocabSubset = VocabSubset.LoadIfPresent(folder);
        model.VocabSubset?.Validate(config.Text.VocabSize, Path.Combine(folder, VocabSubset.FileName));
        model.SourceFolder = folder;
        return Place(model, dtype, device);
    }

    /// <summary>Assembles a LLaVA model from a Qwen2 folder, a CLIP folder and an optional projector (safetensors file); a missing projector is randomly initialised.</summary>
    public static LlavaModel Assemble(string qwenFolder, string clipFolder, string? projectorFile = null, string projectorType = "mlp2x_gelu",
        int selectLayer = -2, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var llm = LoadQwen2(qwenFolder);
        var tower = LoadVisionTower(clipFolder, selectLayer);
        var projector = new Projector(projectorType, tower.Width, llm.Config.HiddenSize);
        if (projectorFile is not null)
        {
            var files = SafeTensorsFolder.OpenFile(projectorFile);
            WeightLoading.LoadInto(projector, files, name => LlavaFileNames(ProjectorPrefix + name, projectorType));
        }
        var config = new LlavaConfig(llm.Config, tower.Config, projectorType, selectLayer, Path.GetFileName(Path.GetFullPath(clipFolder).TrimEnd('/')));
        var model = new LlavaModel(config, llm, tower, projector) { SourceFolder = qwenFolder };
        return Place(model, dtype, device);
    }

    /// <summary>Writes config.json, safetensors (in <paramref name="dtype"/>, default: as held), vocab_subset.json and tokenizer files.</summary>
    public static void Save(LlavaModel model, string folder, string? tokenizerFolder = null, ScalarType? dtype = null, long maxShardBytes = 2L << 30)
    {
        // every tensor made for saving (expanded tables, casts) belongs to this scope: alive until written, then freed
        using var scope = torch.NewDisposeScope();
        Directory.CreateDirectory(folder);
        var tensors = model.state_dict()
            .Select(kv => new KeyValuePair<string, Tensor>(LlavaFileNames(kv.Key, model.Config.ProjectorType)[0],
                Cast(kv.Key.StartsWith(LlmPrefix) ? model.LanguageModel.ForSaving(kv.Key[LlmPrefix.Length..], kv.Value) : kv.Value, dtype)))
            .ToList();
        SafeTensorsFolder.Write(folder, tensors, maxShardBytes);
        var text = model.Config.Text with { TorchDtype = DTypeName(dtype ?? model.LanguageModel.HeadWeight.dtype) };
        (model.Config with { Text = text }).Save(folder);
        model.VocabSubset?.Save(folder);
        CopyTokenizer(tokenizerFolder ?? model.SourceFolder, folder);
    }

    public static Qwen2ForCausalLM LoadQwen2(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null, FeedForwardFactory? moeFactory = null)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var config = Qwen2Config.Load(folder);
        CheckTokenizerFits(folder, config.VocabSize);
        var model = new Qwen2ForCausalLM(config, moeFactory);
        var files = SafeTensorsFolder.Open(folder);
        var used = WeightLoading.LoadInto(model, files, name => [name]);
        WeightLoading.RejectUnexpected(files, used, n => IgnorableText(n, config));
        model.to(dtype);
        if (device is not null) model.to(device);
        return model;
    }

    public static void SaveQwen2(Qwen2ForCausalLM model, string folder, ScalarType? dtype = null)
    {
        using var scope = torch.NewDisposeScope(); // as in Save
        Directory.CreateDirectory(folder);
        SafeTensorsFolder.Write(folder, model.state_dict().Select(kv => new KeyValuePair<string, Tensor>(kv.Key, Cast(model.ForSaving(kv.Key, kv.Value), dtype))).ToList());
        var config = model.Config with { TorchDtype = DTypeName(dtype ?? model.HeadWeight.dtype) };
        var json = config.ToJson();
        json["architectures"] = new System.Text.Json.Nodes.JsonArray("Qwen2ForCausalLM");
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), json.ToJsonString(Json.Options) + "\n");
    }

    /// <summary>Loads the vision part of a CLIP or CLIPVisionModel folder (text tower tensors are ignored).</summary>
    public static ClipVisionTower LoadVisionTower(string folder, int selectLayer = -2, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var config = ClipVisionConfig.Load(folder);
        var tower = new ClipVisionTower(config, selectLayer);
        var files = SafeTensorsFolder.Open(folder);
        WeightLoading.LoadInto(tower, files, name => [name]);
        tower.to(dtype);
        if (device is not null) tower.to(device);
        return tower;
    }

    public static void SaveVisionTower(ClipVisionTower tower, string folder, ScalarType? dtype = null)
    {
        Directory.CreateDirectory(folder);
        SafeTensorsFolder.Write(folder, tower.state_dict().Select(kv => new KeyValuePair<string, Tensor>(kv.Key, Cast(kv.Value, dtype))).ToList());
        tower.Config.Save(folder);
    }

    static bool IgnorableText(string name, Qwen2Config config) =>
        name.EndsWith("rotary_emb.inv_freq") || (config.TieWordEmbeddings && name == "lm_head.weight");

    static LlavaModel Place(LlavaModel model, ScalarType dtype, Device? device)
    {
        model.to(dtype);
        if (device is not null) model.to(device);
        return model;
    }

    static Tensor Cast(Tensor t, ScalarType? dtype) => dtype is { } d && t.is_floating_point() ? t.to(d) : t;

    static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => "float32",
    };

    /// <summary>Number of ids the tokenizer in <paramref name="folder"/> can produce (0 when it has no tokenizer.json).</summary>
    public static int TokenizerVocabSize(string folder)
    {
        string path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path)) return 0;
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        int max = -1;
        if (doc.RootElement.TryGetProperty("model", out var m) && m.TryGetProperty("vocab", out var vocab) && vocab.ValueKind == JsonValueKind.Object)
            foreach (var p in vocab.EnumerateObject()) max = Math.Max(max, p.Value.GetInt32());
        if (doc.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var t in added.EnumerateArray()) max = Math.Max(max, t.GetProperty("id").GetInt32());
        return max + 1;
    }

    static void CheckTokenizerFits(string folder, int vocabSize)
    {
        int tokenizer = TokenizerVocabSize(folder);
        if (tokenizer > vocabSize)
            throw LlavaModException.ForFile(Path.Combine(folder, "config.json"),
                $"vocab_size {vocabSize} is smaller than the tokenizer's {tokenizer} ids (tokenizer.json): the embedding table cannot hold every token");
    }

    static void CopyTokenizer(string? from, string to)
    {
        if (from is null || Path.GetFullPath(from) == Path.GetFullPath(to)) return;
        foreach (var name in TokenizerFiles)
        {
            string source = Path.Combine(from, name);
            if (File.Exists(source)) File.Copy(source, Path.Combine(to, name), overwrite: true);
        }
    }
}
