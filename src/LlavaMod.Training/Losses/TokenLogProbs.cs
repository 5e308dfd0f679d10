using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>Per-token and per-sequence log-probabilities of given targets (HF labels, see <see cref="TokenAlignment"/>).</summary>
public static class TokenLogProbs
{
    /// <summary>
    /// [B, T]: log p(labels[t + 1] | position t) where that label is supervised, 0 elsewhere.
    /// Logits are [B, T, V]; the log-softmax runs in float32 at least (bf16 logits are upcast).
    /// </summary>
    public static Tensor Gather(Tensor logits, Tensor labels, long ignoreIndex = TokenAlignment.IgnoreIndex)
    {
        CheckShapes(logits, labels);
        using var scope = NewDisposeScope();
        var targets = TokenAlignment.ShiftedTargets(labels, ignoreIndex);
        using var ignored = ignoreIndex.ToScalar();
        var mask = targets.ne(ignored);
        var safeTargets = targets.masked_fill(mask.logical_not(), LongLivedScalars.IntZero);
        var logp = FullVocabularyMimic.UpcastForSoftmax(logits).log_softmax(-1).gather(-1, safeTargets.unsqueeze(-1)).squeeze(-1);
        return logp.masked_fill(mask.logical_not(), LongLivedScalars.DoubleZero).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Summed log-prob of each sequence's supervised tokens ([B], as TRL's <c>get_batch_logps</c>
    /// with <c>average_log_prob=False</c>) and the number of supervised tokens ([B], long).
    /// </summary>
    public static (Tensor Sum, Tensor Count) SumPerSequence(Tensor logits, Tensor labels, long ignoreIndex = TokenAlignment.IgnoreIndex)
    {
        using var scope = NewDisposeScope();
        var perToken = Gather(logits, labels, ignoreIndex);
        using var ignored = ignoreIndex.ToScalar();
        var count = TokenAlignment.ShiftedTargets(labels, ignoreIndex).ne(ignored).sum(1);
        return (perToken.sum(1).MoveToOuterDisposeScope(), count.MoveToOuterDisposeScope());
    }

    internal static void CheckShapes(Tensor logits, Tensor labels)
    {
        if (logits.dim() != 3 || labels.dim() != 2 || logits.shape[0] != labels.shape[0] || logits.shape[1] != labels.shape[1])
            throw new ArgumentException($"expected logits [B, T, V] and labels [B, T], got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", labels.shape)}]");
    }
}
