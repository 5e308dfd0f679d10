using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Next-token cross-entropy on the N supervised positions of a batch (SFT, the CE half of D2S).
/// Inputs follow the training forward's contract (<see cref="Models.LlavaModel.Forward"/> with
/// loss positions only): <c>logits</c> (N, V) at the positions whose next token is supervised,
/// <c>targets</c> (N) those tokens, <c>rows</c> (N) the batch row of each. On those positions this is
/// exactly what Hugging Face causal-LM models return as <c>loss</c> (shift, then
/// <c>cross_entropy(ignore_index=-100)</c>). bf16 logits are upcast to float32 first.
/// </summary>
public static class SupervisedCrossEntropy
{
    /// <summary>Mean over all N supervised tokens (LLaVA's <c>token</c> averaging).</summary>
    public static Tensor Compute(Tensor logits, Tensor targets) =>
        nn.functional.cross_entropy(FullVocabularyMimic.UpcastForSoftmax(logits), targets); // (N, V), (N) → ()

    /// <summary>Mean over rows of each row's mean token loss (<c>row</c> averaging: a one-word answer weighs as much as a long description).</summary>
    public static Tensor RowAveraged(Tensor logits, Tensor targets, long[] rows, int rowCount)
    {
        using var scope = NewDisposeScope();
        var perToken = nn.functional.cross_entropy(FullVocabularyMimic.UpcastForSoftmax(logits), targets, reduction: nn.Reduction.None); // (N)
        var index = tensor(rows, device: perToken.device);                                                                               // (N)
        var sums = zeros(rowCount, dtype: perToken.dtype, device: perToken.device).index_add(0, index, perToken, LongLivedScalars.IntOne);   // (B)
        var counts = zeros(rowCount, dtype: perToken.dtype, device: perToken.device).index_add(0, index, ones_like(perToken), LongLivedScalars.IntOne); // (B)
        var present = counts.gt(LongLivedScalars.IntZero);
        return (sums[present] / counts[present]).mean().MoveToOuterDisposeScope();
    }
}
