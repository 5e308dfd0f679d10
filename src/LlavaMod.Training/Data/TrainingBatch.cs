using LlavaMod.Data.Text;
using LlavaMod.Models;
using static TorchSharp.torch;

namespace LlavaMod.Training.Data;

/// <summary>
/// One step's batch as the data streams yield it and the stage objectives take it. The prefetcher
/// decodes the images of <see cref="Sequences"/> ahead of the step into <see cref="Pixels"/>; the
/// step only stacks them (<see cref="ToModelBatch"/>).
/// </summary>
public abstract record TrainingBatch
{
    /// <summary>Every sequence the step's forward pass takes, in the order it takes them.</summary>
    public abstract IReadOnlyList<SupervisedExample> Sequences { get; }

    /// <summary>CLIP pixel values (3, S, S) per sequence, decoded ahead of the step (null: no image); owned and freed by the prefetcher.</summary>
    public IReadOnlyList<Tensor?>? Pixels { get; init; }

    /// <summary>The model batch of <see cref="Sequences"/>, or of <paramref name="sameOrder"/> (the sequences changed in place, e.g. cut to their prompts).</summary>
    public LlavaBatch ToModelBatch(ClipVisionConfig vision, Device device, IReadOnlyList<SupervisedExample>? sameOrder = null) =>
        LlavaBatch.FromExamples(sameOrder ?? Sequences, vision, device, Pixels);

    /// <summary>A short list of the batch's row keys, for error messages.</summary>
    public string DescribeRows() => string.Join(", ", Sequences.Select(s => s.Key).Take(4)) + (Sequences.Count > 4 ? "…" : "");
}

/// <summary>Rows of supervised shards (sft, mimic, d2s).</summary>
public sealed record SupervisedBatch(IReadOnlyList<SupervisedExample> Rows) : TrainingBatch
{
    public override IReadOnlyList<SupervisedExample> Sequences => Rows;
}

/// <summary>
/// Preference pairs (pd): each pair's prompt + chosen and prompt + rejected. The forward takes them
/// pair by pair, chosen before rejected, so its per-sequence results reshape to (pairs, 2).
/// </summary>
public sealed record PairBatch(IReadOnlyList<TrainingPair> Pairs, IReadOnlyList<SupervisedExample> Chosen, IReadOnlyList<SupervisedExample> Rejected) : TrainingBatch
{
    public override IReadOnlyList<SupervisedExample> Sequences { get; } = Pairs.SelectMany((_, i) => new[] { Chosen[i], Rejected[i] }).ToList();
}
