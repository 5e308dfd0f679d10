using LlavaMod.Core;
using LlavaMod.Training.Stages;

namespace LlavaMod.Training.Tests.Stages;

/// <summary>Typos and out-of-range values in a stage config are refused when it is read (before any
/// model loads), naming the file, the key and the closest known key.</summary>
public class StageConfigKeyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("stage-config-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string json)
    {
        string path = Path.Combine(_dir, "stage.json");
        File.WriteAllText(path, json);
        return path;
    }

    const string Valid = """{"stage": "sft", "model": "m", "out": "o", "data": ["d"]}""";

    [Theory]
    [InlineData("max_step=2", "unknown key 'max_step' (from --set max_step=2); did you mean max_steps?")]
    [InlineData("lerning_rate=5", "unknown key 'lerning_rate' (from --set lerning_rate=5)")]
    [InlineData("learning_rate=5", "did you mean lr?")]
    [InlineData("loss.chosen_nll_weight=1", "unknown key 'loss.chosen_nll_weight'")]
    [InlineData("loss.bta=0.5", "did you mean loss.beta?")]
    [InlineData("moe.topk=3", "did you mean moe.top_k?")]
    public void An_unknown_key_given_with_set_is_refused_naming_file_key_and_closest_key(string assignment, string expected)
    {
        string path = Write(Valid);
        var e = Assert.Throws<LlavaModException>(() => StageConfig.Load(path, [assignment]));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void An_unknown_key_in_the_file_is_refused_with_the_closest_key_at_its_level()
    {
        string path = Write("""{"stage": "pd", "model": "m", "out": "o", "pairs": "p.sqlite", "loss": {"beta": 0.1, "preferense": "sigmoid"}}""");
        var e = Assert.Throws<LlavaModException>(() => StageConfig.Load(path, []));
        Assert.Equal($"{path}: unknown key 'loss.preferense'; did you mean loss.preference?", e.Message);
    }

    [Theory]
    [InlineData("lr=-1", "lr must be > 0")]
    [InlineData("loss.beta=0", "loss.beta must be > 0")]
    [InlineData("loss.beta=-0.1", "loss.beta must be > 0")]
    [InlineData("moe.top_k=0", "moe.top_k must be in [1, moe.num_experts]")]
    [InlineData("moe.top_k=5", "moe.top_k must be in [1, moe.num_experts]")]
    [InlineData("weight_decay=-0.1", "weight_decay must be ≥ 0")]
    [InlineData("max_steps=-3", "max_steps and threads must be ≥ 0")]
    [InlineData("loss.kl_weight=-1", "loss weights")]
    [InlineData("adam_betas=[0.9, 1.5]", "adam_betas")]
    public void Out_of_range_values_are_refused_when_the_config_is_read(string assignment, string expected)
    {
        var e = Assert.Throws<LlavaModException>(() => StageConfig.Load(Write(Valid), [assignment]));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Field_defaults_cover_every_key_the_config_accepts_with_the_default_values()
    {
        var fields = StageConfig.FieldDefaults().ToDictionary(f => f.Key, f => f.Default);
        // every listed key is accepted by --set with its listed default (the required inputs come from the file)
        foreach (var (key, value) in fields.Where(f => f.Key is not ("model" or "out" or "data")))
            StageConfig.Load(Write(Valid), [$"{key}={value}"]);
        foreach (var key in new[] { "max_steps", "lr", "loss.beta", "loss.rpo_weight", "moe.top_k", "logit_cache", "activation_checkpointing" })
            Assert.Contains(key, fields.Keys);
        Assert.Equal("0.1", fields["loss.beta"]);
        Assert.Equal("42", fields["seed"]);
        Assert.DoesNotContain(fields.Keys, k => k.Contains("chosen_nll"));
    }
}
