using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Next-token cross-entropy on the N supervised positions of a batch (SFT, the CE half of D2S), from the targets' token
/// log-probs (N) that the fused head returns (<see cref="Models.TargetLogProbs"/> through
/// <see cref="Models.ChunkedHeadLoss"/>, at the positions <see cref="Models.LlavaModel.LossHead"/> selects). On those
/// positions this is what Hugging Face causal-LM models return as <c>loss</c> (shift, then
/// <c>cross_entropy(ignore_index=-100)</c>).
/// </summary>
public static class SupervisedCrossEntropy
{
    /// <summary>Mean over all N supervised tokens (LLaVA's <c>token</c> averaging).</summary>
    public static Tensor Compute(Tensor tokenLogProbs) => FullVocabularyMimic.MeanOverPositions(tokenLogProbs.neg()); // (N) → ()

    /// <summary>Mean over rows of each row's mean token loss (<c>row</c> averaging: a one-word answer weighs as much as a long description).</summary>
    public static Tensor RowAveraged(Tensor tokenLogProbs, long[] rows, int rowCount)
    {
        using var scope = NewDisposeScope();
        var perToken = tokenLogProbs.neg();                                                                                              // (N)
        var index = tensor(rows, device: perToken.device);                                                                               // (N)
        var sums = zeros(rowCount, dtype: perToken.dtype, device: perToken.device).index_add(0, index, perToken, LongLivedScalars.IntOne);   // (B)
        var counts = zeros(rowCount, dtype: perToken.dtype, device: perToken.device).index_add(0, index, ones_like(perToken), LongLivedScalars.IntOne); // (B)
        var present = counts.gt(LongLivedScalars.IntZero);
        return (sums[present] / counts[present]).mean().MoveToOuterDisposeScope();
    }
}
