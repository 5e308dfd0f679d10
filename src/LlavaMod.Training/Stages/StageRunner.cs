namespace LlavaMod.Training.Stages;

/// <summary>Dispatches a stage configuration to the loop that trains it.</summary>
public static class StageRunner
{
    public static StageSummary Run(StageConfig config, bool resume, Action<string> log, CancellationToken ct = default) => config.Stage switch
    {
        StageKind.Sft or StageKind.Mimic or StageKind.Pd => StageTrainer.Run(config, resume, log, ct),
        StageKind.VisionPretrain => VisionPretrainer.Run(config, log, ct),
        _ => throw new Core.LlavaModException($"stage '{config.Stage}' is not implemented yet (sft, mimic and pd are)"),
    };
}
