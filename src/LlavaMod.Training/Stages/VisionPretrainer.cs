using LlavaMod.Data.Text;
using System.Diagnostics;
using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Stages;

/// <summary>
/// Images whose every patch token carries one class per head: the labels vision pre-training
/// learns. The demo's scene task (per-cell colour and shape) is one; a real tower comes
/// pre-trained (CLIP) and needs none.
/// </summary>
public interface IPatchLabelTask
{
    /// <summary>What the task is called in errors and logs.</summary>
    string Name { get; }
    /// <summary>Classes of each head, in head order.</summary>
    IReadOnlyList<int> ClassCounts { get; }
    /// <summary>The task's images in <paramref name="folder"/>, each with labels [head][patch].</summary>
    IEnumerable<PatchLabelledImage> Load(string folder);
}

/// <summary>One image and its per-patch class labels, <c>Labels[head][patch]</c>.</summary>
public sealed record PatchLabelledImage(string Key, byte[] Image, int[][] Labels);

/// <summary>
/// Pre-trains the vision tower on per-patch labels (<see cref="IPatchLabelTask"/>), the stand-in
/// for CLIP's own pre-training that real runs download (docs/demo.md). A linear head per task head
/// classifies each patch token, and one more head says which patch the token is: that target keeps
/// absolute position in the features (without it a demo teacher trained on them answered
/// "where is …?" questions at chance, 0.13–0.29; with it, 0.52 after 300 steps on a colour and
/// position subset). The heads are thrown away; the tower is written back into the model folder,
/// which teacher and student then share (frozen).
/// </summary>
public static class VisionPretrainer
{
    public static StageSummary Run(StageConfig config, IPatchLabelTask task, Action<string> log, CancellationToken ct = default)
    {
        if (config.Data.Count != 1) throw new LlavaModException($"vision_pretrain takes one data folder (the {task.Name} images), got {config.Data.Count}");
        var device = config.Runtime.Apply();
        torch.manual_seed(config.Seed);
        var clock = Stopwatch.StartNew();
        using var model = Checkpoint.Load(config.Model, ScalarType.Float32, device);
        var vision = model.Config.Vision;
        int patches = (vision.ImageSize / vision.PatchSize) * (vision.ImageSize / vision.PatchSize);
        var (pixels, targets) = LoadImages(task, config.Data[0], vision, patches, device);
        int n = (int)pixels.shape[0];
        if (config.BatchSize > n) throw new LlavaModException($"batch_size {config.BatchSize} is larger than the {n} scenes of {config.Data[0]}");
        int width = vision.HiddenSize;
        var heads = task.ClassCounts.Select(classes => nn.Linear(width, classes).to(device)).ToList();
        using var patchHead = nn.Linear(width, patches).to(device); // which patch a token is: keeps absolute position in the features
        model.FreezeVisionTower = false;
        var tower = model.VisionTower;
        var parameters = tower.parameters().Concat(heads.SelectMany(h => h.parameters())).Concat(patchHead.parameters()).ToList();
        foreach (var p in parameters) p.requires_grad = true;
        using var optimizer = new AdamW(parameters, config.Lr, config.AdamBetas[0], config.AdamBetas[1], weightDecay: config.WeightDecay);
        long steps = config.MaxSteps > 0 ? config.MaxSteps : (long)Math.Ceiling((double)n * config.Epochs / config.BatchSize);
        var schedule = CosineWarmupSchedule.FromWarmupRatio(steps, config.WarmupRatio);
        var random = new Random(config.Seed);
        int[] order = Enumerable.Range(0, n).ToArray();
        int cursor = n;
        using var metrics = new MetricsLog(Path.Combine(config.Out, "metrics.jsonl"));
        double loss = double.NaN, accuracy = double.NaN;
        tower.train();
        for (long step = 0; step < steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            if (cursor + config.BatchSize > n) { random.Shuffle(order); cursor = 0; }
            using var scope = torch.NewDisposeScope();
            var index = torch.tensor(order[cursor..(cursor + config.BatchSize)].Select(i => (long)i).ToArray(), device: device);
            cursor += config.BatchSize;
            Tensor features;
            using (Autocast.Enter(config.ComputePrecision)) features = tower.Features(pixels.index_select(0, index)); // (B, P, D)
            var logits = heads.Select((h, i) => h.forward(features).reshape(-1, task.ClassCounts[i])).ToList(); // per head (B·P, C_h)
            var headTargets = targets.Select(t => t.index_select(0, index).reshape(-1)).ToList();                // per head (B·P)
            var patchTargets = ScalarOps.Arange(patches, device: device).repeat(config.BatchSize);             // (B·P)
            var total = logits.Select((l, i) => nn.functional.cross_entropy(l, headTargets[i])).Aggregate((a, b) => a.Plus(b))
                .Plus(nn.functional.cross_entropy(patchHead.forward(features).reshape(-1, patches), patchTargets));
            optimizer.zero_grad();
            total.backward();
            schedule.Apply(optimizer, step);
            optimizer.step();
            loss = total.item<float>();
            accuracy = logits.Select((l, i) => l.argmax(-1).eq(headTargets[i])).Aggregate((a, b) => a & b).to(ScalarType.Float32).mean().item<float>();
            metrics.Write(step + 1, new Dictionary<string, double> { ["loss"] = loss, ["cell_accuracy"] = accuracy, ["lr"] = optimizer.ParamGroups.First().LearningRate });
            if ((step + 1) % config.LogEvery == 0 || step + 1 == steps) log($"step {step + 1}/{steps}  loss {loss:F4}  cell accuracy {accuracy:P1}");
        }
        foreach (var head in heads) head.Dispose();
        model.FreezeVisionTower = true;
        string modelDir = Path.Combine(config.Out, "model");
        Checkpoint.Save(model, modelDir);
        MetricsPlots.Plot(MetricsLog.Read(Path.Combine(config.Out, "metrics.jsonl")).ToList(), ["loss", "cell_accuracy"], "vision pre-training", Path.Combine(config.Out, "loss.png"));
        var summary = new StageSummary("vision_pretrain", steps, loss, tower.parameters().Sum(p => p.numel()), 0, clock.Elapsed.TotalSeconds, modelDir);
        Json.WriteFileAtomic(Path.Combine(config.Out, "summary.json"), summary);
        return summary;
    }

    /// <summary>The task's images as pixel values (N, 3, S, S) and, per head, labels (N, P).</summary>
    static (Tensor Pixels, Tensor[] Targets) LoadImages(IPatchLabelTask task, string folder, ClipVisionConfig vision, int patches, Device device)
    {
        var pixels = new List<Tensor>();
        var labels = task.ClassCounts.Select(_ => new List<long>()).ToArray();
        foreach (var image in task.Load(folder))
        {
            if (image.Labels.Length != labels.Length || image.Labels.Any(l => l.Length != patches))
                throw new LlavaModException($"{task.Name} image {image.Key}: expected {labels.Length} label rows of {patches} patches " +
                    $"(image {vision.ImageSize} px, patch {vision.PatchSize} px), got {image.Labels.Length} of [{string.Join(", ", image.Labels.Select(l => l.Length))}]");
            pixels.Add(ClipImageProcessor.FromEncoded(image.Image, image.Key, vision));
            for (int h = 0; h < labels.Length; h++) labels[h].AddRange(image.Labels[h].Select(l => (long)l));
        }
        if (pixels.Count == 0) throw LlavaModException.ForFile(folder, $"holds no {task.Name} images");
        return (torch.stack(pixels).to(device), labels.Select(l => torch.tensor(l.ToArray()).view(-1, patches).to(device)).ToArray());
    }
}
