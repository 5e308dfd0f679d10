using LlavaMod.Models.Runtime;
using LlavaMod.Models;
using LlavaMod.Models.Moe;

namespace LlavaMod.Training.Stages;

/// <summary>What a caller plugs into the stages: the labels of vision pre-training (the demo's scene task).</summary>
public sealed record StageExtensions(IPatchLabelTask? PatchLabels = null);

/// <summary>Dispatches a stage configuration to the loop that trains it.</summary>
public static class StageRunner
{
    /// <summary>Trains the stage and keeps its resolved configuration as OUT/config.json: written at the start
    /// when the folder has none (a crashed run keeps it), and by the run that finishes (a resumed run may
    /// change device or threads; other changes are refused on resume and leave the file as it was).</summary>
    public static StageSummary Run(StageConfig config, bool resume, Action<string> log, CancellationToken ct = default, StageExtensions? extensions = null)
    {
        TorchRuntime.ResolveDevice(config.Runtime.Device); // a device this machine lacks is refused before anything is written
        if (!File.Exists(Path.Combine(config.Out, StageConfig.ResolvedFileName))) config.WriteResolved(config.Out);
        var summary = Train(config, resume, log, ct, extensions);
        config.WriteResolved(config.Out);
        return summary;
    }

    static StageSummary Train(StageConfig config, bool resume, Action<string> log, CancellationToken ct, StageExtensions? extensions) => config.Stage switch
    {
        StageKind.Sft or StageKind.Mimic or StageKind.Pd => StageTrainer.Run(config, resume, log, ct),
        StageKind.D2s => StageTrainer.Run(config, resume, log, ct, prepareModel: UpcycleToMoe, auxLoss: m => MoeModelRouting.TotalAuxLoss(m.LanguageModel)),
        StageKind.VisionPretrain => VisionPretrainer.Run(config,
            extensions?.PatchLabels ?? throw new Core.LlavaModException("vision_pretrain needs a patch-label task, and this build plugs in none"), log, ct),
        _ => throw new Core.LlavaModException($"stage '{config.Stage}' is not implemented yet "),
    };

    /// <summary>d2s starts from the dense student: each chosen layer's MLP becomes E experts that copy it (sparse upcycling).</summary>
    static LlavaModel UpcycleToMoe(LlavaModel model, StageConfig config)
    {
        if (model.Config.Text.Moe is not null) return model; // already sparse (e.g. a second d2s run)
        using var generator = new TorchSharp.torch.Generator((ulong)config.Seed);
        MoeUpcycler.Upcycle(model, config.Moe, generator);
        return model;
    }
}
