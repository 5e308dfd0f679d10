using System.Text.Json.Nodes;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Optimization;
using LlavaMod.Training.Tests.Reference;
using TorchSharp;

namespace LlavaMod.Training.Tests.Optimization;

public class ScheduleTests
{
    [Theory]
    [InlineData(100, 0.03, 0, 2e-5)]  // LLaVA-MoD: 3% warm-up (ceil(100·0.03) is 4 in floating point, as in HF)
    [InlineData(37, 0.0, 5, 1e-3)]
    [InlineData(10, 0.0, 0, 2e-6)]
    public void Learning_rates_match_hf_cosine_with_warmup_under_torch_lambda_lr(int total, double ratio, int warmupSteps, double baseLr)
    {
        var schedule = warmupSteps > 0 ? new CosineWarmupSchedule(total, warmupSteps) : CosineWarmupSchedule.FromWarmupRatio(total, ratio);
        var reference = PythonReference.Run(new JsonObject
        {
            ["kind"] = "cosine_schedule", ["total_steps"] = total, ["warmup_steps"] = warmupSteps, ["warmup_ratio"] = ratio, ["base_lr"] = baseLr,
        });
        Assert.Equal(reference.GetProperty("warmup_steps").GetInt64(), schedule.WarmupSteps);
        var expected = reference.GetProperty("lrs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var actual = Enumerable.Range(0, total + 1).Select(step => schedule.LearningRate(baseLr, step)).ToArray();
        PythonReference.AssertClose(expected, actual, 1e-12, "lr");
    }

    [Fact]
    public void Apply_sets_every_group_to_its_initial_rate_times_the_factor()
    {
        TorchRuntime.EnsureLoaded();
        using var linear = torch.nn.Linear(3, 2);
        var optimizer = AdamWSetup.Create(linear.named_parameters().Select(p => (p.name, p.parameter)), new AdamWSettings(1e-3, WeightDecay: 0.1));
        var schedule = new CosineWarmupSchedule(TotalSteps: 20, WarmupSteps: 4);
        schedule.Apply(optimizer, 2);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.5e-3, g.LearningRate, 15));
        schedule.Apply(optimizer, 20);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.0, g.LearningRate, 15));
    }
}
