using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Mimic loss from a cached teacher, fused with the lm head (<see cref="ChunkedHeadLoss"/>): per position the teacher's
/// top-k ids and log-probs plus the log of its remaining mass, <c>log(1 − Σ_top-k p_T)</c>. The student's distribution
/// is coarsened to the same k + 1 buckets: its probabilities of the k ids, and one tail bucket holding the rest,
/// <c>1 − Σ_top-k p_S</c>. The value per position is KL(teacher buckets ‖ student buckets), averaged by
/// <see cref="FullVocabularyMimic.MeanOverPositions"/>.
/// <para>
/// The student's tail is the log-sum-exp of its logits over the non-top-k ids, minus the log-normaliser: exact even when
/// the tail is tiny, with no <c>log(1 − x)</c> cancellation, and absent (no tail bucket) when the top-k holds every
/// column (k = V). Because merging outcomes never increases KL, this is ≤ the full-vocabulary KL, with equality when
/// k = V or the distributions agree inside the tail; the gap is the bias Sparse Logit Sampling points out, which is why
/// <see cref="TeacherCoveredMass"/> is reported.
/// </para>
/// <para>
/// Per chunk the forward keeps the chunk's log-sum-exp, the log-sum-exp of its non-top-k columns and the top-k ids'
/// logits. With L = log Σ exp z and L_tail over the non-top-k ids, the value is
/// Σ_k p_k (log p_k − z_k + L) + p_tail (log p_tail − L_tail + L), so
/// ∂/∂z_v = (Σ_k p_k + p_tail) softmax_v − p_tail [v ∉ top-k] exp(z_v − L_tail) − Σ_k p_k [v = id_k].
/// </para>
/// </summary>
public sealed class TopKTailMimic : VocabularyChunkLoss
{
    readonly Tensor _ids, _teacherLogProbs, _teacherTail;
    Tensor? _chunkLogSumExp, _chunkTailLogSumExp;                              // (N, chunks)
    Tensor? _topLogits;                                                         // (N, k)
    Tensor? _logNormalizer, _logTail, _teacherTop, _teacherTailProb, _mass;      // saved for the backward

    /// <param name="teacherIds">(N, k) long: distinct ids per position for top-k caches; a Sparse Logit Sampling cache
    /// repeats ids, with log-probs log(1/k) and tail −∞, and then the loss is the unbiased sampled soft cross-entropy plus
    /// a constant</param>
    /// <param name="teacherLogProbs">(N, k) teacher log-probs of those ids</param>
    /// <param name="teacherTailLogMass">(N) log(1 − Σ_top-k p_T); −∞ when the top-k holds everything</param>
    public TopKTailMimic(Tensor teacherIds, Tensor teacherLogProbs, Tensor teacherTailLogMass)
    {
        static string Sh(Tensor x) => "[" + string.Join(", ", x.shape) + "]";
        if (teacherIds.dim() != 2 || !teacherIds.shape.SequenceEqual(teacherLogProbs.shape) || teacherTailLogMass.dim() != 1 || teacherTailLogMass.shape[0] != teacherIds.shape[0])
            throw new ArgumentException($"expected teacher ids and log-probs (N, k), tail (N); got {Sh(teacherIds)}, {Sh(teacherLogProbs)}, {Sh(teacherTailLogMass)}");
        // kept past the caller's dispose scope: the backward runs after it ends
        _ids = Keep(teacherIds.to_type(ScalarType.Int64));
        _teacherLogProbs = Keep(teacherLogProbs.detach().to_type(ScalarType.Float32));
        _teacherTail = Keep(teacherTailLogMass.detach().to_type(ScalarType.Float32));
    }

    /// <summary>Mean over the positions of Σ_top-k p_T (1 means the cache is exact); set by the forward.</summary>
    public double TeacherCoveredMass { get; private set; }

    protected override void Begin(long positions, int chunks, Device device)
    {
        if (positions != _ids.shape[0]) throw new ArgumentException($"the teacher covers {_ids.shape[0]} positions, the student {positions}");
        _chunkLogSumExp = PerChunk(positions, chunks, device);
        _chunkTailLogSumExp = PerChunk(positions, chunks, device);
        _topLogits = Keep(zeros(_ids.shape, dtype: ScalarType.Float32, device: device));
    }

    protected override void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk)
    {
        _chunkLogSumExp!.select(1, chunk).copy_(logits.logsumexp(1));
        var (local, inside) = Locate(_ids, start, logits.shape[1], logits.dtype);                         // (N, k)
        _topLogits!.add_(logits.gather(1, local).mul(inside), LongLivedScalars.IntOne);                  // (N, k)
        _chunkTailLogSumExp!.select(1, chunk).copy_(logits.masked_fill(InTopK(logits, local, inside), LongLivedScalars.NegativeInfinity).logsumexp(1));
    }

    protected override Tensor Finish()
    {
        var logZ = Keep(LogSumExpOverChunks(_chunkLogSumExp!));        // (N)
        var logTail = LogSumExpOverChunks(_chunkTailLogSumExp!);        // (N), −∞ where the top-k holds every column
        var hasTail = logTail.isfinite();
        var zero = zeros_like(logZ);
        _logTail = Keep(where(hasTail, logTail, zero));
        var lpSTop = _topLogits! - logZ.unsqueeze(1);                   // (N, k) student log-probs of the top-k ids
        var pT = Keep(_teacherLogProbs.exp());                          // (N, k)
        // A tail mass the teacher stored from float rounding (1 − Σp ≈ 1e-8) has no student bucket to meet when k = V.
        var pTail = Keep(where(hasTail, _teacherTail.exp(), zero));     // (N)
        var tailS = where(hasTail, logTail - logZ, zero);               // (N) student log-mass of the tail
        var topTerms = (pT * (_teacherLogProbs - lpSTop)).sum(-1);      // (N)
        // p·log p is 0 at p = 0: keep the teacher's own term finite when its tail is empty.
        var tailSelf = where(pTail.gt(LongLivedScalars.IntZero), pTail * _teacherTail, zero);
        (_logNormalizer, _teacherTop, _teacherTailProb) = (logZ, pT, pTail);
        _mass = Keep(pT.sum(-1).Plus(pTail));
        TeacherCoveredMass = FullVocabularyMimic.MeanOverPositions(pT.sum(-1)).to_type(ScalarType.Float64).item<double>();
        return topTerms.Plus(tailSelf) - pTail * tailS;                 // (N)
    }

    protected override Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream)
    {
        using var scope = NewDisposeScope();
        var g = upstream.unsqueeze(1);                                                                   // (N, 1)
        var (local, inside) = Locate(_ids, start, logits.shape[1], logits.dtype);                       // (N, k)
        var softmax = (logits - _logNormalizer!.unsqueeze(1)).exp();                                     // (N, C)
        var tail = (logits.masked_fill(InTopK(logits, local, inside), LongLivedScalars.NegativeInfinity) - _logTail!.unsqueeze(1)).exp(); // (N, C)
        var grad = softmax.mul(_mass!.unsqueeze(1).mul(g)) - tail.mul(_teacherTailProb!.unsqueeze(1).mul(g));
        grad.scatter_add_(1, local, _teacherTop!.mul(g).mul(inside).neg());
        return grad.MoveToOuterDisposeScope();
    }

    /// <summary>(N, C) bool: the column is one of the position's top-k ids (ids outside the chunk count nowhere).</summary>
    static Tensor InTopK(Tensor logits, Tensor local, Tensor inside) =>
        zeros_like(logits).scatter_add(1, local, inside).gt(LongLivedScalars.IntZero);
}
