using System.Diagnostics;
using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Models.Tests;

/// <summary>The MoE student's config.json in LLaVA-MoD's schema: read from a config written exactly as
/// LLaVA-MoD's LLaVAMoDQwen2Config.to_json_string writes it (HF sorts keys; initialize_moe_modules fills
/// the "moe" dict, num_experts one entry per MoE layer), written back with the same keys and values, and
/// read by Python the way EvalLLaVAMoDQwen2ForCausalLM.__init__ reads it.</summary>
public class LlavaModMoeConfigTests
{
    const string TheirConfig = """
        {
          "architectures": ["LLaVAMoDQwen2ForCausalLM"],
          "hidden_size": 32,
          "intermediate_size": 48,
          "lora": {},
          "max_position_embeddings": 512,
          "model_type": "moe_llava_qwen2",
          "moe": {
            "capacity_factor": 1.5,
            "ep_size": 1,
            "eval_capacity_factor": 2.0,
            "min_capacity": 0,
            "moe_enable": true,
            "moe_layers_idx": [0, 2, 4],
            "moe_mode": "sparse",
            "num_experts": [4, 4, 4],
            "router_aux_loss_coef": 0.01,
            "top_k_experts": 2,
            "train_modules": [],
            "use_residual": false
          },
          "num_attention_heads": 4,
          "num_hidden_layers": 6,
          "num_key_value_heads": 2,
          "rms_norm_eps": 1e-06,
          "rope_theta": 1000000.0,
          "torch_dtype": "float32",
          "vocab_size": 61
        }
        """;

    static void AssertSameValue(JsonNode? expected, JsonNode? actual, string key)
    {
        switch (expected)
        {
            case JsonArray list:
                var got = Assert.IsType<JsonArray>(actual);
                Assert.Equal(list.Count, got.Count);
                for (int i = 0; i < list.Count; i++) AssertSameValue(list[i], got[i], $"{key}[{i}]");
                break;
            case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number:
                Assert.True(actual is JsonValue a && a.GetValueKind() == System.Text.Json.JsonValueKind.Number, key);
                Assert.Equal(double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture), double.Parse(actual!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                Assert.True(JsonNode.DeepEquals(expected, actual), $"{key}: expected {expected?.ToJsonString()}, got {actual?.ToJsonString()}");
                break;
        }
    }

    [Fact]
    public void Their_config_reads_writes_back_with_their_keys_and_values_and_reads_again_the_same()
    {
        var theirs = JsonNode.Parse(TheirConfig)!.AsObject();
        var ours = Qwen2Config.FromJson(theirs, "config.json");
        Assert.Equal((4, 2, 1.5, 2.0, 0, 0.01), (ours.Moe!.NumExperts, ours.Moe.TopK, ours.Moe.CapacityFactor, ours.Moe.EvalCapacityFactor, ours.Moe.MinCapacity, ours.Moe.AuxLossCoef));
        Assert.Equal([0, 2, 4], ours.Moe.LayerIndices(6));

        var written = ours.ToJson();
        var moe = written["moe"]!.AsObject();
        var theirMoe = theirs["moe"]!.AsObject();
        Assert.Equal(theirMoe.Select(kv => kv.Key).Order(), moe.Select(kv => kv.Key).Order());
        foreach (var (key, value) in theirMoe) AssertSameValue(value, moe[key], key);
        AssertSameValue(theirs["lora"], written["lora"], "lora");

        var again = Qwen2Config.FromJson(written, "config.json");
        Assert.Equal(ours with { Moe = null, Extra = null }, again with { Moe = null, Extra = null });
        Assert.Equal(Json.Serialize(ours.Moe), Json.Serialize(again.Moe));
    }

    [Theory]
    [InlineData("""[1, 3]""", 6, "custom")]
    [InlineData("""  "all" """, 4, "dense")]
    [InlineData("""  "every_other" """, 4, "sparse")]
    public void Our_layer_choices_round_trip_through_their_schema(string layers, int layerCount, string mode)
    {
        var moe = new MoeConfig { NumExperts = 3, TopK = 1, Layers = System.Text.Json.JsonDocument.Parse(layers).RootElement.Clone(), CapacityFactor = 1.25, EvalCapacityFactor = 2, MinCapacity = 4, AuxLossCoef = 0.02 };
        var config = new Qwen2Config { ModelType = "moe_llava_qwen2", VocabSize = 61, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = layerCount, NumAttentionHeads = 4, NumKeyValueHeads = 2, Moe = moe };
        var written = config.ToJson();
        Assert.Equal(mode, (string)written["moe"]!["moe_mode"]!);
        Assert.Equal(moe.LayerIndices(layerCount).Count, written["moe"]!["num_experts"]!.AsArray().Count);
        var back = Qwen2Config.FromJson(written, "config.json");
        Assert.Equal(Json.Serialize(moe), Json.Serialize(back.Moe));
    }

    [Fact]
    public void Expert_counts_that_differ_per_layer_and_residual_moe_are_refused()
    {
        var node = JsonNode.Parse(TheirConfig)!.AsObject();
        node["moe"]!["num_experts"] = new JsonArray(4, 8, 4);
        Assert.Contains("different expert counts", Assert.Throws<LlavaModException>(() => Qwen2Config.FromJson(node, "c.json")).Message);
        node = JsonNode.Parse(TheirConfig)!.AsObject();
        node["moe"]!["use_residual"] = true;
        Assert.Contains("use_residual", Assert.Throws<LlavaModException>(() => Qwen2Config.FromJson(node, "c.json")).Message);
    }

    [Fact]
    public void Python_reads_our_config_with_LLaVA_MoD_key_names()
    {
        var config = Qwen2Config.FromJson(JsonNode.Parse(TheirConfig)!.AsObject(), "config.json");
        string dir = Directory.CreateTempSubdirectory("llavamod-moe-config-").FullName;
        try
        {
            string path = Path.Combine(dir, "config.json");
            config.Save(path);
            // EvalLLaVAMoDQwen2ForCausalLM.__init__: plain dict lookups, one MoE(...) per zip(num_experts, moe_layers_idx).
            const string script = """
                import json, sys
                c = json.load(open(sys.argv[1]))
                moe = c['moe']
                assert c['model_type'] == 'moe_llava_qwen2', c['model_type']
                layers = []
                for num_experts, layer_num in zip(moe['num_experts'], moe['moe_layers_idx']):
                    assert 0 <= layer_num < c['num_hidden_layers']
                    layers.append((layer_num, num_experts, moe['ep_size'], moe['top_k_experts'], moe['capacity_factor'],
                                   moe['eval_capacity_factor'], moe['min_capacity'], moe['use_residual']))
                assert len(moe['num_experts']) == len(moe['moe_layers_idx'])
                print(json.dumps({'layers': layers, 'aux': moe['router_aux_loss_coef'], 'enable': moe['moe_enable']}))
                """;
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-c", script, path }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stderr);
            var result = JsonNode.Parse(stdout)!;
            Assert.Equal("[[0,4,1,2,1.5,2,0,false],[2,4,1,2,1.5,2,0,false],[4,4,1,2,1.5,2,0,false]]", result["layers"]!.ToJsonString().Replace(".0", ""));
            Assert.Equal(0.01, result["aux"]!.GetValue<double>());
            Assert.True(result["enable"]!.GetValue<bool>());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
