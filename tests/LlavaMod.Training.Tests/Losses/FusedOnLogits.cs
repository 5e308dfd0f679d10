using LlavaMod.Models;
using LlavaMod.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Losses;

/// <summary>
/// The fused losses (<see cref="ChunkedHeadLoss"/>) on given logits (N, V): the hidden states are the logits and the
/// head matrix the identity, so the head reproduces them exactly and the hidden states' gradient is the logits'. Chunks
/// of <see cref="Columns"/> columns, fewer than V in every test, so the cross-chunk statistics are exercised.
/// </summary>
internal static class FusedOnLogits
{
    public const long Columns = 4;

    public static HeadInputs Head(Tensor logits) => new(logits, eye(logits.shape[1], dtype: logits.dtype));

    /// <summary>(N) log-probs of the targets.</summary>
    public static Tensor TokenLogProbs(Tensor logits, Tensor targets) =>
        ChunkedHeadLoss.Compute(Head(logits), new TargetLogProbs(targets), Columns);

    public static (Tensor Loss, double TeacherCoveredMass) TopK(Tensor logits, Tensor ids, Tensor logProbs, Tensor tail)
    {
        var loss = new TopKTailMimic(ids, logProbs, tail);
        var values = ChunkedHeadLoss.Compute(Head(logits), loss, Columns);
        return (FullVocabularyMimic.MeanOverPositions(values), loss.TeacherCoveredMass);
    }

    public static Tensor Kl(Tensor student, Tensor teacher, double temperature = 1.0) =>
        FullVocabularyMimic.MeanOverPositions(ChunkedHeadLoss.Compute(Head(student), new FullVocabularyMimic(Head(teacher), temperature), Columns));
}
