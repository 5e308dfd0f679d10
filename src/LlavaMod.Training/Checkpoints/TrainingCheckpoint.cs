using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Training.Data;
using TorchSharp;
using TorchSharp.Modules;

namespace LlavaMod.Training.Checkpoints;

/// <summary>What a resumed run needs besides the weights and the optimizer state. <paramref name="StartingModel"/> is the
/// fingerprint of the folder the run started from (<see cref="Models.IO.ModelFingerprint"/>): a resume
/// from another starting model (an upstream step rerun) is refused, not silently mixed.</summary>
public sealed record TrainerState(long Step, TrainingPosition Position, string ConfigFingerprint, DateTimeOffset SavedAt, string? StartingModel = null);

/// <summary>
/// Checkpoints of a training run: OUT/checkpoints/step-NNNNNNNN/ holds the model folder (the model
/// stack's format, loadable by every command), optimizer.bin (the AdamW state, in TorchSharp's format) and
/// trainer_state.json (step, data position). A checkpoint is written into a temporary folder and
/// renamed into place, so the newest folder is always complete. The run is deterministic given
/// its seed (no dropout, no router noise by default), so the step and data position are the
/// whole remaining state: a resumed run logs the same losses as one that never stopped.
/// </summary>
public static class TrainingCheckpoint
{
    const string Prefix = "step-";
    const string StateFile = "trainer_state.json";
    const string OptimizerFile = "optimizer.bin";

    public static string Directory(string outDir) => Path.Combine(outDir, "checkpoints");

    public static void Save(string outDir, LlavaModel model, torch.optim.Optimizer optimizer, TrainerState state, int keepLast = 2)
    {
        string root = Directory(outDir);
        System.IO.Directory.CreateDirectory(root);
        string final = Path.Combine(root, $"{Prefix}{state.Step:D8}");
        string temp = final + AtomicFile.TempMarker + Guid.NewGuid().ToString("N");
        Checkpoint.Save(model, temp);
        ((OptimizerHelper)optimizer).save_state_dict(Path.Combine(temp, OptimizerFile));
        Json.WriteFileAtomic(Path.Combine(temp, StateFile), state);
        if (System.IO.Directory.Exists(final)) System.IO.Directory.Delete(final, recursive: true);
        System.IO.Directory.Move(temp, final);
        foreach (var old in Completed(outDir).SkipLast(keepLast)) System.IO.Directory.Delete(old, recursive: true);
    }

    /// <summary>Finished checkpoint folders, oldest first (temporary folders of a killed save are ignored).</summary>
    public static IReadOnlyList<string> Completed(string outDir)
    {
        string root = Directory(outDir);
        if (!System.IO.Directory.Exists(root)) return [];
        return System.IO.Directory.GetDirectories(root, $"{Prefix}*")
            .Where(d => !d.Contains(AtomicFile.TempMarker) && File.Exists(Path.Combine(d, StateFile)))
            .OrderBy(d => d, StringComparer.Ordinal).ToList();
    }

    public static string? Latest(string outDir) => Completed(outDir).LastOrDefault();

    public static TrainerState ReadState(string checkpointDir) => Json.ReadFile<TrainerState>(Path.Combine(checkpointDir, StateFile));

    public static void LoadOptimizer(string checkpointDir, torch.optim.Optimizer optimizer)
    {
        string path = Path.Combine(checkpointDir, OptimizerFile);
        if (!File.Exists(path)) throw LlavaModException.ForFile(checkpointDir, $"has no {OptimizerFile}: the checkpoint is incomplete");
        ((OptimizerHelper)optimizer).load_state_dict(path);
    }
}
