using System.Text.Json.Nodes;
using LlavaMod.Cli.Tests.EndToEnd;
using LlavaMod.Models.IO;
using TorchSharp;

namespace LlavaMod.Cli.Tests.Commands;

/// <summary>
/// <c>llavamod model assemble</c> as a user runs it: the demo teacher is taken apart into the three pieces a real run
/// starts from (a Qwen2 folder, a CLIP vision folder, a projector file with LLaVA-1.5's tensor names) and assembled
/// again; the result must hold exactly the teacher's tensors.
/// </summary>
[Collection(DemoWorkspaceCollection.Name)]
public class ModelAssembleCommandTests(DemoWorkspace workspace)
{
    const string Tower = "model.image_tower.image_tower.", Projector = "model.mm_projector.image_spatial_proj.";

    static void WriteJson(string path, JsonNode node) => File.WriteAllText(path, node.ToJsonString());

    [Fact]
    public void Assembling_a_teacher_taken_apart_gives_back_every_tensor_and_the_vision_settings()
    {
        string dir = Directory.CreateDirectory(Path.Combine(workspace.Root, "assemble-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        string qwen = Directory.CreateDirectory(Path.Combine(dir, "qwen")).FullName, clip = Directory.CreateDirectory(Path.Combine(dir, "clip")).FullName;
        string projector = Path.Combine(dir, "mm_projector.safetensors"), assembled = Path.Combine(dir, "assembled");
        var teacher = SafeTensorsFolder.Open(workspace.Teacher);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(workspace.Teacher, "config.json")))!.AsObject();

        KeyValuePair<string, torch.Tensor> Renamed(string name, string newName) => new(newName, teacher.Read(name));
        SafeTensorsFolder.Write(qwen, teacher.Names.Where(n => !n.StartsWith(Tower) && !n.StartsWith(Projector)).Select(n => Renamed(n, n)).ToList());
        var text = config.DeepClone().AsObject();
        foreach (var key in text.Select(kv => kv.Key).Where(k => k.StartsWith("mm_") || k is "vision_config" or "image_projector_type" or "image_token_index").ToList()) text.Remove(key);
        text["model_type"] = "qwen2";
        text["architectures"] = new JsonArray("Qwen2ForCausalLM");
        WriteJson(Path.Combine(qwen, "config.json"), text);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(workspace.Teacher, file), Path.Combine(qwen, file));

        SafeTensorsFolder.Write(clip, teacher.Names.Where(n => n.StartsWith(Tower)).Select(n => Renamed(n, n[Tower.Length..])).ToList());
        var vision = config["vision_config"]!.DeepClone().AsObject();
        vision["architectures"] = new JsonArray("CLIPVisionModel");
        WriteJson(Path.Combine(clip, "config.json"), vision);
        // LLaVA-1.5's mm_projector names (model.mm_projector.0.weight), not LLaVA-MoD's
        var projectorTensors = teacher.Names.Where(n => n.StartsWith(Projector)).Select(n => Renamed(n, "model.mm_projector." + n[Projector.Length..])).ToList();
        Assert.Equal(4, projectorTensors.Count);
        SafeTensorsFolder.Write(dir, projectorTensors);
        File.Move(Path.Combine(dir, SafeTensorsFolder.SingleFile), projector);

        string output = LlavamodProcess.Succeeds(dir, "model", "assemble", "--llm", qwen, "--vision", clip, "--projector", projector,
            "--select-layer", config["mm_vision_select_layer"]!.ToString(), "--out", assembled);

        Assert.Contains($"wrote {assembled}", output);
        long visionParameters = teacher.Names.Where(n => n.StartsWith(Tower)).Sum(n => teacher.ShapeOf(n).Aggregate(1L, (a, b) => a * b));
        Assert.Contains(visionParameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), output);
        var result = SafeTensorsFolder.Open(assembled);
        Assert.Equal(teacher.Names.OrderBy(n => n), result.Names.OrderBy(n => n));
        foreach (var name in teacher.Names)
        {
            using var expected = teacher.Read(name);
            using var actual = result.Read(name);
            Assert.True(expected.shape.SequenceEqual(actual.shape) && expected.dtype == actual.dtype && expected.eq(actual).all().item<bool>(), $"{name} differs after assembling");
        }
        var assembledConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(assembled, "config.json")))!;
        Assert.Equal("llava_qwen2", assembledConfig["model_type"]!.GetValue<string>());
        Assert.Equal(config["mm_vision_select_layer"]!.GetValue<int>(), assembledConfig["mm_vision_select_layer"]!.GetValue<int>());
        foreach (var key in new[] { "hidden_size", "image_size", "patch_size", "num_hidden_layers" })
            Assert.Equal(vision[key]!.GetValue<int>(), assembledConfig["vision_config"]![key]!.GetValue<int>());
        Assert.Equal(vision["image_mean"]!.ToJsonString(), assembledConfig["vision_config"]!["image_mean"]!.ToJsonString());
        Assert.True(File.Exists(Path.Combine(assembled, "tokenizer.json")));
    }
}
