using System.Diagnostics;
using LlavaMod.Core;
using LlavaMod.Data.Demo;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Stages;

/// <summary>
/// Demo only: pre-trains the tiny CLIP-layout vision tower on per-cell scene labels, the stand-in
/// for CLIP's own pre-training that real runs download (DEMO.md). With 48 px images and 16 px
/// patches every patch token is one grid cell, so linear heads on the tower's features classify
/// each cell's colour and shape ("none" for an empty cell) and which cell the token is. The last
/// target keeps absolute position in the features: without it, a teacher trained on them answered
/// "where is …?" questions at chance (0.13–0.29); with it, 0.52 after 300 steps on a colour and
/// position subset. The heads are thrown away; the
/// tower is written back into the model folder, which teacher and student then share (frozen).
/// Data: the demo split folder (scenes.jsonl + images/).
/// </summary>
public static class VisionPretrainer
{
    public static StageSummary Run(StageConfig config, Action<string> log, CancellationToken ct = default)
    {
        if (config.Data.Count != 1) throw new LlavaModException("vision_pretrain takes one data folder: the demo split folder with scenes.jsonl and images/");
        TorchRuntime.SetThreads(config.Threads);
        var device = TorchRuntime.ResolveDevice(config.Device);
        torch.manual_seed(config.Seed);
        var clock = Stopwatch.StartNew();
        using var model = Checkpoint.Load(config.Model, ScalarType.Float32, device);
        var vision = model.Config.Vision;
        int grid = vision.ImageSize / vision.PatchSize;
        if (grid != 3) throw new LlavaModException($"vision_pretrain expects one patch per cell of the demo's 3×3 grid (image {vision.ImageSize}, patch {vision.PatchSize} gives {grid}×{grid})");

        var (pixels, colours, shapes) = LoadScenes(config.Data[0], vision, device);
        int n = (int)pixels.shape[0];
        if (config.BatchSize > n) throw new LlavaModException($"batch_size {config.BatchSize} is larger than the {n} scenes of {config.Data[0]}");
        int width = vision.HiddenSize;
        using var colourHead = nn.Linear(width, DemoVocabulary.Colors.Count + 1).to(device);
        using var shapeHead = nn.Linear(width, DemoVocabulary.Shapes.Count + 1).to(device);
        using var cellHead = nn.Linear(width, 9).to(device); // which cell a token is: keeps absolute position in the features
        model.FreezeVisionTower = false;
        var tower = model.VisionTower;
        var parameters = tower.parameters().Concat(colourHead.parameters()).Concat(shapeHead.parameters()).Concat(cellHead.parameters()).ToList();
        foreach (var p in parameters) p.requires_grad = true;
        using var optimizer = torch.optim.AdamW(parameters, config.Lr, config.AdamBetas[0], config.AdamBetas[1], weight_decay: config.WeightDecay);
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
            using (Autocast.Enter(config.ComputePrecision)) features = tower.Features(pixels.index_select(0, index)); // [B, 9, width]
            var colourLogits = colourHead.forward(features).reshape(-1, DemoVocabulary.Colors.Count + 1);
            var shapeLogits = shapeHead.forward(features).reshape(-1, DemoVocabulary.Shapes.Count + 1);
            var colourTargets = colours.index_select(0, index).reshape(-1);
            var shapeTargets = shapes.index_select(0, index).reshape(-1);
            var cellTargets = ScalarOps.Arange(9, device: device).repeat(config.BatchSize);
            var total = nn.functional.cross_entropy(colourLogits, colourTargets) + nn.functional.cross_entropy(shapeLogits, shapeTargets)
                + nn.functional.cross_entropy(cellHead.forward(features).reshape(-1, 9), cellTargets);
            optimizer.zero_grad();
            total.backward();
            schedule.Apply(optimizer, step);
            optimizer.step();
            loss = total.item<float>();
            accuracy = (colourLogits.argmax(-1).eq(colourTargets) & shapeLogits.argmax(-1).eq(shapeTargets)).to(ScalarType.Float32).mean().item<float>();
            metrics.Write(step + 1, new Dictionary<string, double> { ["loss"] = loss, ["cell_accuracy"] = accuracy, ["lr"] = optimizer.ParamGroups.First().LearningRate });
            if ((step + 1) % config.LogEvery == 0 || step + 1 == steps) log($"step {step + 1}/{steps}  loss {loss:F4}  cell accuracy {accuracy:P1}");
        }
        model.FreezeVisionTower = true;
        string modelDir = Path.Combine(config.Out, "model");
        Checkpoint.Save(model, modelDir);
        MetricsPlots.Plot(MetricsLog.Read(Path.Combine(config.Out, "metrics.jsonl")).ToList(), ["loss", "cell_accuracy"], "vision pre-training", Path.Combine(config.Out, "loss.png"));
        var summary = new StageSummary("vision_pretrain", steps, loss, tower.parameters().Sum(p => p.numel()), 0, clock.Elapsed.TotalSeconds, modelDir);
        Json.WriteFileAtomic(Path.Combine(config.Out, "summary.json"), summary);
        return summary;
    }

    /// <summary>All scenes of the split as pixel values [N, 3, S, S] and per-cell class targets [N, 9] (0 = empty cell).</summary>
    static (Tensor Pixels, Tensor Colours, Tensor Shapes) LoadScenes(string splitFolder, ClipVisionConfig vision, Device device)
    {
        string scenesPath = Path.Combine(splitFolder, "scenes.jsonl");
        if (!File.Exists(scenesPath)) throw LlavaModException.ForFile(scenesPath, "not found: vision_pretrain reads a demo split folder written by 'llavamod demo-data'");
        var pixels = new List<Tensor>();
        var colours = new List<long>();
        var shapes = new List<long>();
        long line = 0;
        foreach (var text in File.ReadLines(scenesPath))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var scene = Json.Deserialize<DemoSceneRecord>(text, $"{scenesPath}, row {line}");
            pixels.Add(SupervisedExample.PixelValues(File.ReadAllBytes(Path.Combine(splitFolder, scene.Image)), scene.SceneId, vision));
            var cellColour = new long[9];
            var cellShape = new long[9];
            foreach (var o in scene.Objects)
            {
                cellColour[o.Row * 3 + o.Col] = 1 + DemoVocabulary.Colors.Select(c => c.Name).ToList().IndexOf(o.Color);
                cellShape[o.Row * 3 + o.Col] = 1 + DemoVocabulary.Shapes.ToList().IndexOf(o.Shape);
            }
            colours.AddRange(cellColour);
            shapes.AddRange(cellShape);
        }
        return (torch.stack(pixels).to(device), torch.tensor(colours.ToArray()).view(-1, 9).to(device), torch.tensor(shapes.ToArray()).view(-1, 9).to(device));
    }
}
