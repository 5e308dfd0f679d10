using LlavaMod.Core;
using LlavaMod.Training.Stages;

namespace LlavaMod.Training.Tests.Stages;

public class StageConfigTests
{
    [Fact]
    public void Defaults_follow_the_paper_and_overrides_reach_nested_fields()
    {
        var config = StageConfig.Load(null, ["stage=pd", "model=m", "out=o", "pairs=p.sqlite", "loss.beta=0.5", "loss.preference=sigmoid", "lr=2e-6"]);
        Assert.Equal(StageKind.Pd, config.Stage);
        Assert.Equal(LlavaMod.Training.Losses.PreferenceLossType.Sigmoid, config.Loss.Preference);
        Assert.Equal(0.5, config.Loss.Beta);
        Assert.Equal(2e-6, config.Lr);
        Assert.Equal([0.9, 0.98], config.AdamBetas);
        Assert.Equal(0.03, config.WarmupRatio);
    }

    [Fact]
    public void Missing_inputs_are_explained()
    {
        var e = Assert.Throws<LlavaModException>(() => StageConfig.Load(null, ["stage=mimic", "model=m", "out=o", "data=[\"shards\"]"]));
        Assert.Contains("logit_cache", e.Message);
        e = Assert.Throws<LlavaModException>(() => StageConfig.Load(null, ["stage=pd", "model=m", "out=o"]));
        Assert.Contains("pairs", e.Message);
        e = Assert.Throws<LlavaModException>(() => StageConfig.Load(null, ["model=m", "out=o", "data=[\"d\"]", "precision=fp16"]));
        Assert.Contains("fp16", e.Message);
    }

    [Fact]
    public void Bf16_mixed_precision_is_accepted_and_parsed()
    {
        var config = StageConfig.Load(null, ["model=m", "out=o", "data=[\"d\"]", "precision=bf16"]);
        Assert.Equal(LlavaMod.Models.ComputePrecision.Bf16, config.ComputePrecision);
        Assert.Equal(LlavaMod.Models.ComputePrecision.Fp32, StageConfig.Load(null, ["model=m", "out=o", "data=[\"d\"]"]).ComputePrecision);
    }

    [Fact]
    public void Activation_checkpointing_is_off_by_default_settable_with_set_and_left_out_of_json_when_off()
    {
        var off = StageConfig.Load(null, ["model=m", "out=o", "data=[\"d\"]"]);
        Assert.False(off.ActivationCheckpointing);
        Assert.DoesNotContain("activation_checkpointing", Json.Serialize(off)); // fingerprints of earlier runs stay valid
        var on = StageConfig.Load(null, ["model=m", "out=o", "data=[\"d\"]", "activation_checkpointing=true"]);
        Assert.True(on.ActivationCheckpointing);
        Assert.Contains("\"activation_checkpointing\": true", Json.Serialize(on));
    }
}
