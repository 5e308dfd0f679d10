using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>Next-token cross-entropy on supervised labels (SFT / the CE half of D2S), HF convention.</summary>
public static class SupervisedCrossEntropy
{
    /// <summary>
    /// Mean over all supervised tokens of the batch of −log p(labels[t + 1] | position t), exactly
    /// what HF causal-LM models return as <c>loss</c> (shift, then <c>cross_entropy(ignore_index=-100)</c>).
    /// NaN when no token is supervised, as in PyTorch. bf16 logits are upcast to float32 first.
    /// </summary>
    public static Tensor Compute(Tensor logits, Tensor labels, long ignoreIndex = TokenAlignment.IgnoreIndex)
    {
        TokenLogProbs.CheckShapes(logits, labels);
        using var scope = NewDisposeScope();
        var targets = TokenAlignment.ShiftedTargets(labels, ignoreIndex);
        long v = logits.shape[2];
        var loss = nn.functional.cross_entropy(FullVocabularyMimic.UpcastForSoftmax(logits).reshape(-1, v), targets.reshape(-1), ignore_index: ignoreIndex);
        return loss.MoveToOuterDisposeScope();
    }
}
