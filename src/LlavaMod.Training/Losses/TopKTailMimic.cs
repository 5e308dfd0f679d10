using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>The top-k + tail mimic loss and the share of teacher probability its top-k covered.</summary>
/// <param name="Loss">Scalar KL over k + 1 buckets, averaged over the positions.</param>
/// <param name="TeacherCoveredMass">Mean over the positions of Σ_top-k p_T (1 means the cache is exact).</param>
public sealed record TopKMimicResult(Tensor Loss, double TeacherCoveredMass);

/// <summary>
/// Mimic loss from a cached teacher: per position the teacher's top-k ids and log-probs plus the
/// log of its remaining mass, <c>log(1 − Σ_top-k p_T)</c>. The student's distribution is coarsened
/// to the same k + 1 buckets: its probabilities of the k ids, and one tail bucket holding the rest,
/// <c>1 − Σ_top-k p_S</c>. The loss is KL(teacher buckets ‖ student buckets).
/// <para>
/// The student's tail is the log-sum-exp of its log-probs over the non-top-k ids (the top-k
/// entries replaced by a large negative number), which is exact even when the tail is tiny, has
/// finite gradients when the tail is empty (k = V), and needs no <c>log(1 − x)</c> cancellation.
/// Because merging outcomes never increases KL, this is ≤ the full-vocabulary KL, with equality
/// when k = V or the distributions agree inside the tail; the gap is the bias Sparse Logit Sampling
/// points out, which is why <see cref="TopKMimicResult.TeacherCoveredMass"/> is reported.
/// </para>
/// </summary>
public static class TopKTailMimic
{
    const double MaskedLogit = -1e30;
    // Process-lifetime scalars for the constant above (see LongLivedScalars): the fill, and the
    // threshold that tells a real tail from an empty one.
    static readonly Scalar MaskedLogitScalar = MaskedLogit.ToScalar();
    static readonly Scalar EmptyTailThreshold = (MaskedLogit / 2).ToScalar();

    /// <param name="studentLogits">(N, V) at the N supervised positions (the training forward's loss-position contract)</param>
    /// <param name="teacherIds">(N, k) long: distinct ids per position for top-k caches; a
    /// Sparse Logit Sampling cache repeats ids, with log-probs log(1/k) and tail −∞, and then the
    /// loss is the unbiased sampled soft cross-entropy plus a constant</param>
    /// <param name="teacherLogProbs">(N, k) teacher log-probs of those ids</param>
    /// <param name="teacherTailLogMass">(N) log(1 − Σ_top-k p_T); −∞ when the top-k holds everything</param>
    public static TopKMimicResult Compute(Tensor studentLogits, Tensor teacherIds, Tensor teacherLogProbs, Tensor teacherTailLogMass)
    {
        CheckShapes(studentLogits, teacherIds, teacherLogProbs, teacherTailLogMass);
        using var scope = NewDisposeScope();
        var logpS = FullVocabularyMimic.UpcastForSoftmax(studentLogits).log_softmax(-1);                 // (N, V)
        var dtype = logpS.dtype;
        var ids = teacherIds.to_type(ScalarType.Int64);
        var lpT = teacherLogProbs.detach().to_type(dtype);
        var tailT = teacherTailLogMass.detach().to_type(dtype);

        var lpSTop = logpS.gather(-1, ids);                                                              // (N, k)
        var inTopK = zeros_like(logpS, dtype: ScalarType.Bool).scatter(-1, ids, ones_like(ids, dtype: ScalarType.Bool)); // (N, V)
        var tailS = logpS.masked_fill(inTopK, MaskedLogitScalar).logsumexp(-1);                          // (N)

        var pT = lpT.exp();
        // When the top-k holds every column (k = V, e.g. a cache over a small vocabulary subset) there is
        // no tail: a tail mass the teacher stored from float rounding (1 − Σp ≈ 1e-8) must not meet the
        // student's empty-tail log (≈ −1e30).
        var pTail = where(tailS.gt(EmptyTailThreshold), tailT.exp(), zeros_like(tailT));
        var topTerms = (pT * (lpT - lpSTop)).sum(-1);                                                    // (N)
        // p·log p is 0 at p = 0: keep the teacher's own term finite when its tail is empty.
        var tailSelf = where(pTail.gt(LongLivedScalars.IntZero), pTail * tailT, zeros_like(pTail));
        var perPosition = topTerms.Plus(tailSelf) - pTail * tailS;                                          // (N)

        var loss = FullVocabularyMimic.MeanOverPositions(perPosition);
        double covered = FullVocabularyMimic.MeanOverPositions(pT.sum(-1)).to_type(ScalarType.Float64).item<double>();
        return new TopKMimicResult(loss.MoveToOuterDisposeScope(), covered);
    }

    static void CheckShapes(Tensor s, Tensor ids, Tensor lp, Tensor tail)
    {
        static string Sh(Tensor x) => "[" + string.Join(", ", x.shape) + "]";
        bool ok = s.dim() == 2 && ids.dim() == 2 && lp.dim() == 2 && tail.dim() == 1
                  && ids.shape.SequenceEqual(lp.shape) && ids.shape[0] == s.shape[0] && tail.shape[0] == s.shape[0]
                  && ids.shape[1] <= s.shape[1];
        if (!ok)
            throw new ArgumentException($"expected student logits (N, V), teacher ids and log-probs (N, k≤V), tail (N); got {Sh(s)}, {Sh(ids)}, {Sh(lp)}, {Sh(tail)}");
    }
}
