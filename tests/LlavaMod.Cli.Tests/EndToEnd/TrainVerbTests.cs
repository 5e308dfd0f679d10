using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlavaMod.Models.IO;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>
/// <c>llavamod train --config FILE --set …</c> as a user runs it: the overrides win over the file, the log names the
/// trainable parameter count, each step's learning rate follows Hugging Face's cosine schedule, and only the
/// trainable tensors change in the saved model.
/// </summary>
[Collection(DemoWorkspaceCollection.Name)]
public partial class TrainVerbTests(DemoWorkspace workspace)
{
    const string Projector = "model.mm_projector.";

    [GeneratedRegex(@"([\d,.]+) parameters train")]
    private static partial Regex TrainableLine();

    [Fact]
    public void Sft_through_the_verb_applies_the_overrides_logs_every_step_and_trains_only_the_selected_tensors()
    {
        string dir = Directory.CreateDirectory(Path.Combine(workspace.Root, "train-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        string config = Path.Combine(dir, "sft.json"), output = Path.Combine(dir, "out");
        const double lr = 0.01;
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["stage"] = "sft", ["model"] = workspace.Teacher, ["out"] = output, ["data"] = new[] { workspace.TrainShards },
            ["max_steps"] = 50, ["batch_size"] = 8, ["lr"] = 0.5, ["warmup_ratio"] = 0, ["threads"] = 1, ["log_every"] = 1,
            ["trainable"] = new[] { Projector + "*" },
        }));

        string log = LlavamodProcess.Succeeds(dir, "train", "--config", config, "--set", "max_steps=3", "--set", $"lr={lr.ToString(CultureInfo.InvariantCulture)}");

        var before = SafeTensorsFolder.Open(workspace.Teacher);
        long trainable = before.Names.Where(n => n.StartsWith(Projector)).Sum(n => before.ShapeOf(n).Aggregate(1L, (a, b) => a * b));
        Assert.Equal(trainable, long.Parse(Regex.Replace(TrainableLine().Match(log).Groups[1].Value, @"\D", "")));
        for (int step = 1; step <= 3; step++) Assert.Contains($"step {step}/3", log);
        Assert.DoesNotContain("step 4/", log);

        var metrics = File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([1, 2, 3], metrics.Select(m => m.GetProperty("step").GetInt32()));
        // transformers' get_cosine_schedule_with_warmup without warm-up: lr · ½(1 + cos(π · k / total)) at step k = 0, 1, 2
        double[] expectedLr = [lr, lr * 0.5 * (1 + Math.Cos(Math.PI / 3)), lr * 0.5 * (1 + Math.Cos(2 * Math.PI / 3))];
        for (int i = 0; i < 3; i++) Assert.Equal(expectedLr[i], metrics[i].GetProperty("lr").GetDouble(), 1e-12);
        Assert.All(metrics, m => Assert.True(double.IsFinite(m.GetProperty("loss").GetDouble()) && m.GetProperty("loss").GetDouble() > 0));
        Assert.True(File.Exists(Path.Combine(output, "loss.png")));

        var after = SafeTensorsFolder.Open(Path.Combine(output, "model"));
        Assert.Equal(before.Names.OrderBy(n => n), after.Names.OrderBy(n => n));
        foreach (var name in before.Names)
        {
            using var a = before.Read(name);
            using var b = after.Read(name);
            bool same = a.eq(b).all().item<bool>();
            Assert.True(same != name.StartsWith(Projector), $"{name}: {(same ? "unchanged although trainable" : "changed although frozen")}");
        }
    }

    [Fact]
    public void Train_on_cuda_without_a_gpu_stops_with_one_error_line_before_writing_anything()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // the error is for machines without CUDA
        string dir = Directory.CreateDirectory(Path.Combine(workspace.Root, "train-cuda-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        string output = Path.Combine(dir, "out");
        var result = LlavamodProcess.Run(dir, "train", "--set", "stage=sft", "--set", $"model={workspace.Teacher}", "--set", $"out={output}",
            "--set", $"data=[\"{workspace.TrainShards}\"]", "--set", "max_steps=1", "--set", "device=cuda");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: --device cuda: CUDA is not available", result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(output), "a refused run wrote its output folder");
    }
}
