using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Models.IO;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

[Collection(ReferenceCollection.Name)]
public class CheckpointTests(ReferenceFixture reference) : IDisposable
{
    readonly string _temp = Directory.CreateTempSubdirectory("llavamod-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    string CopyFolder(string name)
    {
        string to = Path.Combine(_temp, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(reference.Dir(name))) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    static LlavaBatch TextAndImage(Tensor pixels) => new()
    {
        InputIds = [[5, LlavaBatch.ImageTokenIndex, 9, 11], [3, 4]],
        PixelValues = pixels[..1],
    };

    [Theory]
    [InlineData(1L << 40)]
    [InlineData(20_000L)] // forces several shards and an index file
    public void Save_then_load_gives_identical_outputs(long maxShardBytes)
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        model.VocabSubset = new VocabSubset([4, 9, 11, 2]);
        string folder = Path.Combine(_temp, "saved-" + maxShardBytes);
        Checkpoint.Save(model, folder, maxShardBytes: maxShardBytes);
        Assert.Equal(maxShardBytes < 100_000, File.Exists(Path.Combine(folder, SafeTensorsFolder.IndexFile)));
        using var reloaded = Checkpoint.Load(folder);
        Assert.Equal([4, 9, 11, 2], reloaded.VocabSubset!.TokenIds);
        using var pixels = reference.Get("llava.pixel_values");
        using var _ = torch.no_grad();
        using var a = model.Forward(TextAndImage(pixels));
        using var b = reloaded.Forward(TextAndImage(pixels));
        TensorAssert.Close(a.Logits, b.Logits, 0);
    }

    [Fact]
    public void Assemble_from_qwen_and_clip_folders_then_save_copies_the_tokenizer()
    {
        string qwen = CopyFolder("qwen_untied");
        File.WriteAllText(Path.Combine(qwen, "tokenizer.json"), """{"model": {"vocab": {"a": 0, "b": 1}}, "added_tokens": [{"id": 50, "content": "<|x|>"}]}""");
        using var model = Checkpoint.Assemble(qwen, reference.Dir("clip"));
        string folder = Path.Combine(_temp, "assembled");
        Checkpoint.Save(model, folder, dtype: ScalarType.BFloat16);
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer.json")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal("llava_qwen2", config["model_type"]!.GetValue<string>());
        Assert.Equal("bfloat16", config["torch_dtype"]!.GetValue<string>());
        Assert.Equal("BF16", SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")).Entries["lm_head.weight"].DType);
        using var reloaded = Checkpoint.Load(folder);
        using var expectedHead = Checkpoint.LoadQwen2(qwen).HeadWeight.to(ScalarType.BFloat16).to(ScalarType.Float32);
        TensorAssert.Close(expectedHead, reloaded.LanguageModel.HeadWeight, 0);
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        string folder = CopyFolder("qwen_untied");
        var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        var kept = file.Entries.Keys.Where(n => n != "model.layers.1.self_attn.k_proj.bias").Select(n => new KeyValuePair<string, Tensor>(n, file.Read(n))).ToList();
        SafeTensorsFile.Write(Path.Combine(folder, "model.safetensors"), kept);
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.LoadQwen2(folder));
        Assert.Contains("missing tensor 'model.layers.1.self_attn.k_proj.bias'", e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_tensor_and_shapes()
    {
        string folder = CopyFolder("qwen_untied");
        EditConfig(folder, c => c["intermediate_size"] = 40);
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.LoadQwen2(folder));
        Assert.Contains("'model.layers.0.mlp.gate_proj.weight' has shape [48, 32]", e.Message);
        Assert.Contains("expects [40, 32]", e.Message);
    }

    [Fact]
    public void Unknown_model_type_is_refused()
    {
        string folder = CopyFolder("qwen_untied");
        EditConfig(folder, c => c["model_type"] = "llama");
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.LoadQwen2(folder));
        Assert.Contains("unknown model_type 'llama'", e.Message);
    }

    [Fact]
    public void Llava_folder_without_vision_config_takes_it_from_a_local_mm_image_tower()
    {
        string folder = CopyFolder("llava");
        EditConfig(folder, c => { c.Remove("vision_config"); c["mm_image_tower"] = reference.Dir("clip"); });
        using var model = Checkpoint.Load(folder);
        Assert.Equal(new[] { 0.5f, 0.4f, 0.3f }, model.Config.Vision.ImageMean); // from the tower's preprocessor_config.json
        EditConfig(folder, c => c["mm_image_tower"] = "openai/clip-vit-large-patch14-336");
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.Load(folder));
        Assert.Contains("is not a local CLIP folder", e.Message);
    }

    [Fact]
    public void Llava_mod_moe_block_is_translated()
    {
        var node = JsonNode.Parse("""
            {"model_type": "moe_llava_qwen2", "vocab_size": 61, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 4,
             "num_attention_heads": 4, "num_key_value_heads": 2,
             "moe": {"moe_enable": true, "moe_layers_idx": [0, 2], "num_experts": [4], "top_k_experts": 2, "capacity_factor": 1.5,
                     "eval_capacity_factor": 2.0, "min_capacity": 0, "router_aux_loss_coef": 0.01, "ep_size": 1}}
            """)!.AsObject();
        var config = Qwen2Config.FromJson(node, "config.json");
        Assert.Equal(4, config.Moe!.NumExperts);
        Assert.Equal([0, 2], config.Moe.LayerIndices(4));
        Assert.Equal(1.5, config.Moe.CapacityFactor);
    }

    [Fact]
    public void Unsupported_rope_scaling_is_refused()
    {
        string folder = CopyFolder("qwen_untied");
        EditConfig(folder, c => c["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["factor"] = 4.0 });
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.LoadQwen2(folder));
        Assert.Contains("rope_scaling", e.Message);
    }

    [Fact]
    public void Vocab_smaller_than_the_tokenizer_is_refused()
    {
        string folder = CopyFolder("qwen_untied");
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), """{"model": {"vocab": {"a": 0}}, "added_tokens": [{"id": 61, "content": "<|x|>"}]}""");
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.LoadQwen2(folder));
        Assert.Contains("vocab_size 61 is smaller than the tokenizer's 62", e.Message);
    }

    [Fact]
    public void Weights_of_another_architecture_are_refused()
    {
        string folder = CopyFolder("qwen_untied");
        EditConfig(folder, c => c["tie_word_embeddings"] = true); // file still has lm_head: ignored, as HF does
        using (Checkpoint.LoadQwen2(folder)) { }
        EditConfig(folder, c => c["num_hidden_layers"] = 1);
        var e = Assert.Throws<LlavaModException>(() => Checkpoint.LoadQwen2(folder));
        Assert.Contains("not used by the model", e.Message);
    }

    [Fact]
    public void Replaced_feed_forward_is_registered_as_mlp_and_used()
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_untied"));
        var layer = model.Model.Layers[0];
        var dense = (Qwen2Mlp)layer.FeedForward;
        var copy = dense.Copy();
        var previous = layer.ReplaceFeedForward(copy);
        Assert.Same(dense, previous);
        Assert.Same(copy, layer.FeedForward);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", model.state_dict().Keys);
        Assert.Equal(SafeTensorsFolder.Open(reference.Dir("qwen_untied")).Names.Count, model.state_dict().Count);
        using var ids = reference.Get("qwen.input_ids");
        using var expected = reference.Get("qwen_untied.logits");
        using var _ = torch.no_grad();
        using (var same = model.Forward(ids[..1]))
            TensorAssert.Close(expected[..1], same, 1e-4); // an exact copy computes the same function
        copy.DownProj.weight!.zero_();
        using var changed = model.Forward(ids[..1]);
        Assert.True(TensorAssert.MaxAbs(expected[..1] - changed) > 1e-3);
    }

    static void EditConfig(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "config.json");
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }
}
