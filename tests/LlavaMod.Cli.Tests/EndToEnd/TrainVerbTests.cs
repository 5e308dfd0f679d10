using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlavaMod.Data.Shards;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

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

    /// <summary>
    /// With one batch holding the whole corpus, the first logged loss is the token-averaged cross-entropy of every
    /// supervised token under the starting model. The test computes it from the shard rows with its own image decoding
    /// and <see cref="SequenceScorer"/> (checked against TRL's get_batch_logps in PyTorch by the Models tests).
    /// </summary>
    [Fact]
    public async Task The_first_logged_loss_is_the_cross_entropy_of_the_whole_corpus_under_the_starting_model()
    {
        var rows = (await DatasetInspector.FirstRowsAsync(workspace.TrainShards, 10_000)).Cast<ShardRow>().ToList();
        string dir = Directory.CreateDirectory(Path.Combine(workspace.Root, "train-loss-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        string output = Path.Combine(dir, "out");
        LlavamodProcess.Succeeds(dir, "train", "--set", "stage=sft", "--set", $"model={workspace.Teacher}", "--set", $"out={output}",
            "--set", $"data=[\"{workspace.TrainShards}\"]", "--set", "max_steps=1", "--set", $"batch_size={rows.Count}", "--set", "threads=1",
            "--set", "log_every=1", "--set", "lr=1e-4");
        double logged = JsonDocument.Parse(File.ReadLines(Path.Combine(output, "metrics.jsonl")).First()).RootElement.GetProperty("loss").GetDouble();

        using var model = Checkpoint.Load(workspace.Teacher);
        var prompts = new List<long[]>();
        var responses = new List<long[]>();
        var pixels = new List<TorchSharp.torch.Tensor>();
        foreach (var row in rows)
        {
            int first = Array.IndexOf(row.LabelMask, (byte)1);
            Assert.True(first > 0 && row.LabelMask[first..].All(m => m == 1), $"{row.Key}: the supervised tokens are not one final span");
            prompts.Add(row.InputIds[..first].Select(i => (long)i).ToArray());
            responses.Add(row.InputIds[first..].Select(i => (long)i).ToArray());
            using var image = Image.Load<Rgb24>(row.Image!.Bytes!);
            var rgb = new byte[image.Width * image.Height * 3];
            image.CopyPixelDataTo(rgb);
            pixels.Add(ClipImageProcessor.ToPixelValues(rgb, image.Width, image.Height, model.Config.Vision));
        }
        Assert.All(prompts, p => Assert.Contains(LlavaBatch.ImageTokenIndex, p));
        var scores = SequenceScorer.LogProbs(model, new LlavaBatch { InputIds = prompts.ToArray(), PixelValues = TorchSharp.torch.stack(pixels) }, responses);
        double expected = -scores.Sum(s => s.Sum) / scores.Sum(s => s.Count);
        Assert.Equal(expected, logged, 4);
    }
}
