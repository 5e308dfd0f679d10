using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Training.Checkpoints;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Stages;
using TorchSharp;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>Training that goes wrong stops with the reason and leaves the last good checkpoint usable.</summary>
public class TrainingFailureTests(DemoWorkspace workspace) : IClassFixture<DemoWorkspace>
{
    [Fact]
    public void A_loss_that_turns_non_finite_stops_the_run_naming_the_step_and_the_last_good_checkpoint()
    {
        string output = Path.Combine(workspace.Root, "nan-" + Guid.NewGuid().ToString("N")[..6]);
        // An absurd learning rate: AdamW's first step moves every weight by ~lr, so the next forward overflows.
        var config = StageConfig.Load(null,
        [
            "stage=sft", $"model={workspace.Teacher}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]",
            "max_steps=6", "batch_size=12", "lr=1e30", "warmup_ratio=0", "threads=1", "log_every=1", "checkpoint_every=1", "epochs=20",
        ]);

        var e = Assert.Throws<LlavaModException>(() => StageRunner.Run(config, resume: false, _ => { }));

        var logged = MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).ToList();
        Assert.NotEmpty(logged);
        Assert.All(logged, r => Assert.True(double.IsFinite(r.Values["loss"])));
        int failedStep = logged.Count + 1;
        Assert.Contains($"step {failedStep}: the loss is", e.Message);
        string? latest = TrainingCheckpoint.Latest(output);
        Assert.NotNull(latest);
        Assert.Contains($"Last good checkpoint: {latest}", e.Message);
        Assert.Equal(logged.Count, TrainingCheckpoint.ReadState(latest).Step);
        Assert.False(Directory.Exists(Path.Combine(output, "model")), "no final model is written after a failed run");
        // The checkpoint is whole: the model loads from it.
        using var model = Checkpoint.Load(latest, torch.ScalarType.Float32, torch.CPU);
        Assert.NotEmpty(model.parameters());
    }
}
