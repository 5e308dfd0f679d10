using LlavaMod.Data.Shards;
using LlavaMod.Models;
using static TorchSharp.torch;

namespace LlavaMod.Evaluation.Answering;

/// <summary>The one place evaluation touches the trainer's example type: prompts cut from shard rows, their
/// batches, and stored image bytes decoded into pixel values exactly as training decodes them.</summary>
static class TrainingExamples
{
    /// <summary>The row's ids up to its first supervised token, with its image bytes.</summary>
    public static SupervisedExample Prompt(ShardRow row) => SupervisedExample.FromShardRow(row).PromptOnly();

    public static LlavaBatch ToBatch(IReadOnlyList<SupervisedExample> prompts, ClipVisionConfig vision, Device device) =>
        SupervisedExample.ToBatch(prompts, vision, device);

    /// <summary>Encoded image → CLIP pixel values [3, S, S], the trainer's decoding.</summary>
    public static Tensor Pixels(byte[] encoded, string source, ClipVisionConfig vision) => SupervisedExample.PixelValues(encoded, source, vision);

    public static long[] Ids(SupervisedExample prompt) => prompt.InputIds;
}
