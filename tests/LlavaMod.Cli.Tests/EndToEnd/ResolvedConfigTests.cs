using System.Text.Json.Nodes;
using LlavaMod.Training.Stages;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>A training run keeps its whole resolved configuration beside its metrics.</summary>
public class ResolvedConfigTests(DemoWorkspace workspace) : IClassFixture<DemoWorkspace>
{
    [Fact]
    public void Train_writes_every_config_key_with_defaults_as_OUT_config_json_and_it_reads_back_as_the_same_config()
    {
        string output = Path.Combine(workspace.Root, "resolved-" + Guid.NewGuid().ToString("N")[..6]);
        DemoWorkspace.Llavamod("train", "--set", "stage=sft", "--set", $"model={workspace.Teacher}", "--set", $"out={output}",
            "--set", $"data=[\"{workspace.TrainShards}\"]", "--set", "max_steps=1", "--set", "batch_size=4", "--set", "threads=1", "--set", "lr=3e-5");

        string file = Path.Combine(output, "config.json");
        Assert.True(File.Exists(Path.Combine(output, "metrics.jsonl")));
        var written = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        foreach (var (key, _) in StageConfig.FieldDefaults())
        {
            JsonNode? node = written;
            foreach (var part in key.Split('.'))
            {
                Assert.True(node is JsonObject o && o.ContainsKey(part), $"config.json lacks '{key}'");
                node = node![part];
            }
        }
        Assert.Equal(3e-5, written["lr"]!.GetValue<double>());
        Assert.Equal(0.1, written["loss"]!["beta"]!.GetValue<double>());
        Assert.Null(written["logit_cache"]);
        Assert.False(written["activation_checkpointing"]!.GetValue<bool>());

        var again = StageConfig.Load(file, []);
        Assert.True(JsonNode.DeepEquals(written, again.ToResolvedJson()));
    }
}
