using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Data.Tests.Core;

public class JsonOverridesTests
{
    sealed record Loss { public double Beta { get; init; } = 0.1; public string Type { get; init; } = "kto_pair"; }
    sealed record Config { public double Lr { get; init; } public List<string> Trainable { get; init; } = new(); public Loss Loss { get; init; } = new(); }

    [Fact]
    public void Values_are_typed_nested_paths_are_created_and_strings_need_no_quotes()
    {
        var root = JsonNode.Parse("""{ "lr": 1.0, "trainable": [] }""")!.AsObject();
        JsonOverrides.Apply(root, ["lr=2e-5", "loss.beta=0.5", "loss.type=dpo", """trainable=["model.mm_projector.*"]"""], "t");
        var config = Json.Deserialize<Config>(root.ToJsonString(), "t");
        Assert.Equal(2e-5, config.Lr);
        Assert.Equal(0.5, config.Loss.Beta);
        Assert.Equal("dpo", config.Loss.Type);
        Assert.Equal(["model.mm_projector.*"], config.Trainable);
    }

    [Fact]
    public void Malformed_assignment_and_walking_into_a_scalar_are_errors()
    {
        var root = JsonNode.Parse("""{ "lr": 1.0 }""")!.AsObject();
        Assert.Throws<LlavaModException>(() => JsonOverrides.Apply(root, ["lr"], "t"));
        Assert.Throws<LlavaModException>(() => JsonOverrides.Apply(root, ["lr.x=1"], "t"));
    }
}
