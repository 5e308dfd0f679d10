using System.Diagnostics;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Models;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using LlavaMod.LogitCache;
using LlavaMod.Training.Checkpoints;
using LlavaMod.Training.Data;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Training.Stages;

/// <summary>What a finished stage reports.</summary>
public sealed record StageSummary(string Stage, long Steps, double FinalLoss, long TrainableParameters, long FrozenParameters, double Seconds, string ModelFolder);

/// <summary>
/// The training loop of every stage (sft, mimic, d2s from shards; pd from the pair index): data in a
/// deterministic length-grouped order, one objective per stage, AdamW with a cosine schedule,
/// gradient accumulation and global-norm clipping, per-step metrics, atomic checkpoints every
/// N steps and bit-for-bit resume. The final model goes to OUT/model.
/// One row's path: shard row → <see cref="Data.Text.SupervisedExample"/> (ids, labels, image bytes) →
/// <see cref="TrainingBatch"/> (images decoded ahead by <see cref="BatchPrefetcher"/>) → <see cref="LlavaBatch"/> →
/// <see cref="LlavaModel.Forward"/> at the N supervised positions → <see cref="IStageObjective"/> loss
/// (<see cref="Losses"/>) → backward → clip → AdamW step.
/// </summary>
public static class StageTrainer
{
    public static StageSummary Run(StageConfig config, bool resume, Action<string> log, CancellationToken ct = default,
        Func<LlavaModel, StageConfig, LlavaModel>? prepareModel = null, Func<LlavaModel, Tensor?>? auxLoss = null)
    {
        if (config.Stage != StageKind.Pd) ShardsBeforeUse.Require(config.Data, config.Model); // pd's data only lends images
        if (config.OnlineTeacher is not null) ShardsBeforeUse.Require(config.Data, config.OnlineTeacher, "online teacher");
        var device = config.Runtime.Apply();
        torch.manual_seed(config.Seed);

        string? checkpoint = resume ? TrainingCheckpoint.Latest(config.Out) : null;
        if (!resume && TrainingCheckpoint.Latest(config.Out) is string stale)
            throw LlavaModException.ForFile(config.Out, $"already holds checkpoints ({Path.GetFileName(stale)}): pass --resume to continue that run, or choose another output folder");
        string startingModel = ModelFingerprint.OfWeights(config.Model);
        if (checkpoint is not null && TrainingCheckpoint.ReadState(checkpoint).StartingModel != startingModel)
            throw LlavaModException.ForFile(checkpoint, $"was trained from another {config.Model} than the one there now (rewritten since, e.g. by " +
                $"rerunning the step that makes it): resuming would mix the two. Delete {TrainingCheckpoint.Directory(config.Out)} to train from the new model.");

        var model = checkpoint is not null ? Checkpoint.Load(checkpoint, ScalarType.Float32, device) : Checkpoint.Load(config.Model, ScalarType.Float32, device);
        model.SourceFolder = config.Model; // tokenizer files are copied from the starting model, not from a checkpoint that may be pruned
        if (checkpoint is null && prepareModel is not null) model = prepareModel(model, config);
        if (model.VocabSubset is { } subset) model.LanguageModel.CompactTo(subset); // train [subset, hidden] tables; saved expanded
        model.LanguageModel.Model.ActivationCheckpointing = config.ActivationCheckpointing;
        var patterns = config.Trainable.Count > 0 ? config.Trainable : StageDefaults.TrainablePatterns(config.Stage, model.Config.Text.TieWordEmbeddings);
        var selection = TrainableParameters.Select(HuggingFaceNamed(model), new ParameterPatterns(patterns));
        log($"{config.Stage}: {selection.TrainableElements:N0} parameters train, {selection.FrozenElements:N0} frozen ({string.Join(", ", patterns)}), {config.Precision} compute" +
            (config.ActivationCheckpointing ? ", activation checkpointing" : ""));

        var (stream, objective) = CreateDataAndObjective(config, auxLoss, model, device);
        using var streamResources = stream as IDisposable; // pd: the pairs' image scratch file
        long microBatches = Enumerable.Range(0, config.Epochs).Sum(e => (long)stream.BatchesPerEpoch(e));
        long totalSteps = (microBatches + config.GradAccumulation - 1) / config.GradAccumulation;
        if (config.MaxSteps > 0) totalSteps = Math.Min(totalSteps, config.MaxSteps);
        var schedule = CosineWarmupSchedule.FromWarmupRatio(totalSteps, config.WarmupRatio);
        using var optimizer = AdamWSetup.Create(selection.Trainable, new AdamWSettings(config.Lr, config.WeightDecay, config.AdamBetas[0], config.AdamBetas[1]));

        long step = 0, startStep = 0;
        var position = TrainingPosition.Start;
        string fingerprint = Hashing.Sha256Hex(Json.Serialize(config with { Out = "", Device = "", Threads = 0, ActivationCheckpointing = false }));
        if (checkpoint is not null)
        {
            var state = TrainingCheckpoint.ReadState(checkpoint);
            if (state.ConfigFingerprint != fingerprint)
                throw LlavaModException.ForFile(checkpoint, "was written with another configuration: resume needs the same config and overrides");
            TrainingCheckpoint.LoadOptimizer(checkpoint, optimizer);
            (step, position, startStep) = (state.Step, state.Position, state.Step);
            log($"resuming from {checkpoint} at step {step}");
        }

        using var metrics = new MetricsLog(Path.Combine(config.Out, "metrics.jsonl"), resumeAfterStep: checkpoint is null ? -1 : step);
        model.train();
        var trainable = selection.Trainable.Select(p => p.Parameter).ToList();
        var clock = Stopwatch.StartNew();
        var window = new Dictionary<string, double>();
        int micro = 0;
        double lastLoss = double.NaN;
        long windowTokens = 0;
        var windowClock = Stopwatch.StartNew();

        foreach (var (at, batch) in BatchPrefetcher.Ahead(stream.From(position, config.Epochs), model.Config.Vision))
        {
            if (step >= totalSteps) break;
            ct.ThrowIfCancellationRequested();
            using (var scope = torch.NewDisposeScope())
            {
                // one autocast scope per forward (bf16 weight copies are made once per scope); backward runs after it
                Tensor loss;
                StepMetrics values;
                using (Autocast.Enter(config.ComputePrecision)) (loss, values) = objective.Compute(model, batch, device);
                if (!double.IsFinite(values.Loss))
                    throw new LlavaModException($"step {step + 1}: the loss is {values.Loss} (batch rows {batch.DescribeRows()}); " +
                        $"training stopped. Last good checkpoint: {TrainingCheckpoint.Latest(config.Out) ?? "none"}. Lower lr or check the data.");
                loss.DivScalar(config.GradAccumulation).backward();
                foreach (var (name, value) in values.LogValues())
                    window[name] = window.GetValueOrDefault(name) + (name == "tokens" ? value : value / config.GradAccumulation);
                windowTokens += values.Tokens;
            }
            bool lastMicroBatch = NextPosition(at, stream, config.Epochs).Epoch >= config.Epochs;
            if (++micro < config.GradAccumulation && !lastMicroBatch) continue;
            micro = 0;

            double gradNorm = GradientClipping.ClipGlobalNorm(trainable, config.MaxGradNorm);
            schedule.Apply(optimizer, step);
            double lr = optimizer.ParamGroups.First().LearningRate;
            optimizer.step();
            optimizer.zero_grad();
            step++;
            lastLoss = window["loss"];
            window["lr"] = lr;
            window["grad_norm"] = gradNorm;
            window["tokens_per_s"] = windowTokens / Math.Max(1e-9, windowClock.Elapsed.TotalSeconds);
            window["epoch"] = at.Epoch;
            metrics.Write(step, window);
            if (step % config.LogEvery == 0 || step == totalSteps)
                log($"step {step}/{totalSteps}  loss {lastLoss:F4}  lr {lr:E2}  grad {gradNorm:F2}  {window["tokens_per_s"]:F0} tok/s  eta {Eta(clock, step - startStep, totalSteps - step)}");
            window = new Dictionary<string, double>();
            windowTokens = 0;
            windowClock.Restart();

            var next = NextPosition(at, stream, config.Epochs);
            if (step % config.CheckpointEvery == 0 && step < totalSteps)
                TrainingCheckpoint.Save(config.Out, model, optimizer, new TrainerState(step, next, fingerprint, DateTimeOffset.UtcNow, startingModel));
        }

        string modelDir = Path.Combine(config.Out, "model");
        Checkpoint.Save(model, modelDir);
        WritePlots(config.Out);
        log($"{config.Stage}: {step} steps in {clock.Elapsed.TotalSeconds:F1} s, final loss {lastLoss:F4}; model in {modelDir}");
        var summary = new StageSummary(config.Stage.ToString().ToLowerInvariant(), step, lastLoss, selection.TrainableElements, selection.FrozenElements, clock.Elapsed.TotalSeconds, modelDir);
        Json.WriteFileAtomic(Path.Combine(config.Out, "summary.json"), summary);
        model.Dispose();
        objective.Dispose();
        return summary;
    }

    static (ITrainingBatches, IStageObjective) CreateDataAndObjective(StageConfig config, Func<LlavaModel, Tensor?>? auxLoss, LlavaModel student, Device device)
    {
        if (config.Stage == StageKind.Pd)
        {
            var pairs = new PairBatches(PairBatches.Load(config.Pairs!, config.PairsSplit, config.ImageRoot, config.Data, spillDir: config.Out,
                tokenizerFingerprint: ShardsBeforeUse.TokenizerFingerprint(config.Model)), config.Seed, config.BatchSize, config.LengthGroupBatches);
            return (pairs, new PreferenceObjective(config.Loss));
        }
        var stream = new BatchStream(ShardDataset.Open(config.Data), config.Seed, new EpochPlan.Options(config.BatchSize, config.ShardsPerBuffer, config.LengthGroupBatches));
        IStageObjective objective = config.Stage switch
        {
            StageKind.Sft => new SupervisedObjective(config.Loss, null, auxLoss),
            StageKind.Mimic or StageKind.D2s when config.LogitCache is not null => new SupervisedObjective(config.Loss, LogitCacheSet.Open(config.LogitCache), auxLoss),
            StageKind.Mimic or StageKind.D2s => new SupervisedObjective(config.Loss, null, auxLoss, SupervisedObjective.LoadOnlineTeacher(config.OnlineTeacher!, student, device)),
            _ => throw new LlavaModException($"stage {config.Stage} is not trained by this loop"),
        };
        return (stream, objective);
    }

    /// <summary>Parameters under their checkpoint (Hugging Face) names, which trainable patterns match.</summary>
    public static IEnumerable<(string Name, Parameter Parameter)> HuggingFaceNamed(LlavaModel model) =>
        model.named_parameters().Select(p => (Checkpoint.LlavaFileNames(p.name, model.Config.ProjectorType)[0], p.parameter));

    static TrainingPosition NextPosition(TrainingPosition at, ITrainingBatches stream, int epochs) =>
        at.Batch + 1 < stream.BatchesPerEpoch(at.Epoch) ? at with { Batch = at.Batch + 1 }
        : at.Epoch + 1 < epochs ? new TrainingPosition(at.Epoch + 1, 0) : new TrainingPosition(epochs, 0);

    static string Eta(Stopwatch clock, long done, long left) =>
        done <= 0 ? "?" : TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * left).ToString(@"hh\:mm\:ss");

    static void WritePlots(string outDir)
    {
        string path = Path.Combine(outDir, "metrics.jsonl");
        if (!File.Exists(path)) return;
        var rows = MetricsLog.Read(path).ToList();
        MetricsPlots.Plot(rows, ["loss", "kl", "ce", "aux", "preference", "chosen_nll"], "training loss", Path.Combine(outDir, "loss.png"));
        var loads = rows.SelectMany(r => r.Values.Keys).Where(k => k.StartsWith("load_l")).Distinct().Order().ToList();
        if (loads.Count > 0)
            MetricsPlots.Plot(rows, loads, "expert load (share of first choices)", Path.Combine(outDir, "expert_load.png"));
        if (rows.Any(r => r.Values.ContainsKey("reward_margin")))
            MetricsPlots.Plot(rows, ["reward_chosen", "reward_rejected", "reward_margin"], "rewards β·(π − π_ref)", Path.Combine(outDir, "rewards.png"));
        MetricsPlots.Plot(rows, ["lr"], "learning rate", Path.Combine(outDir, "lr.png"));
    }
}
