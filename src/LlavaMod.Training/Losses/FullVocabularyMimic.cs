using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Forward KL(p_T ‖ p_S) over the full vocabulary (or the vocabulary subset) at each position, between the student's
/// head and an online teacher's head over the same positions and columns, fused with both heads
/// (<see cref="ChunkedHeadLoss"/>: neither model's (N, V) logits exist whole); <see cref="MeanOverPositions"/> averages it.
/// <para>
/// LLaVA-MoD's code minimises the soft cross-entropy −Σ_v p_T(v) log p_S(v) = KL + H(p_T); the two differ by the
/// teacher entropy, a constant for the student, so their gradients are equal, and KL reads 0 when the student matches.
/// With temperature τ both use softmax(z/τ) and the value is multiplied by τ² (Hinton et al.), which keeps gradient
/// magnitudes comparable across temperatures; τ = 1 (LLaVA-MoD's setting) changes nothing. Softmaxes run in fp32.
/// </para>
/// <para>
/// With s = z/τ, u = t/τ (student, teacher), L_S, L_T their log-normalisers: KL = Σ_v p_T,v (u_v − s_v) − L_T + L_S.
/// Per chunk the forward keeps both log-sum-exps and Σ_v q_v (u_v − s_v) under the chunk's own teacher softmax q;
/// weighting each chunk by exp(L_T,chunk − L_T) gives the full sum. ∂/∂z_v = τ (softmax(s)_v − p_T,v).
/// </para>
/// </summary>
public sealed class FullVocabularyMimic : VocabularyChunkLoss
{
    readonly HeadInputs _teacher;
    readonly double _temperature;
    Tensor? _studentLogSumExp, _teacherLogSumExp, _crossTerms; // (N, chunks)
    Tensor? _studentLogZ, _teacherLogZ;

    /// <param name="teacher">the teacher's hidden states at the student's N positions and its head matrix over the same columns (no gradients)</param>
    public FullVocabularyMimic(HeadInputs teacher, double temperature = 1.0)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be positive");
        _teacher = new HeadInputs(Keep(teacher.Hidden.detach()), Keep(teacher.Weight.detach())); // the backward reads them after the caller's scope ends
        _temperature = temperature;
    }

    public override HeadInputs? Teacher => _teacher;

    protected override void Begin(long positions, int chunks, Device device)
    {
        _studentLogSumExp = PerChunk(positions, chunks, device);
        _teacherLogSumExp = PerChunk(positions, chunks, device);
        _crossTerms = PerChunk(positions, chunks, device);
    }

    protected override void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk)
    {
        var s = logits.DivScalar(_temperature);                                   // (N, C)
        var u = teacherLogits!.DivScalar(_temperature);                          // (N, C)
        var teacherLse = _teacherLogSumExp!.select(1, chunk).copy_(u.logsumexp(1)); // (N)
        _studentLogSumExp!.select(1, chunk).copy_(s.logsumexp(1));
        var q = (u - teacherLse.unsqueeze(1)).exp();                              // (N, C) the chunk's own teacher softmax
        _crossTerms!.select(1, chunk).copy_((q * (u - s)).sum(1));
    }

    protected override Tensor Finish()
    {
        _studentLogZ = Keep(LogSumExpOverChunks(_studentLogSumExp!));
        _teacherLogZ = Keep(LogSumExpOverChunks(_teacherLogSumExp!));
        var chunkMass = (_teacherLogSumExp! - _teacherLogZ.unsqueeze(1)).exp();        // (N, chunks) teacher mass per chunk
        var cross = (chunkMass * _crossTerms!).sum(1);                                  // (N) Σ_v p_T (u − s)
        var kl = (cross - _teacherLogZ).Plus(_studentLogZ);                              // (N)
        return kl.MulScalar(_temperature * _temperature);
    }

    protected override Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream)
    {
        using var scope = NewDisposeScope();
        var studentProbs = (logits.DivScalar(_temperature) - _studentLogZ!.unsqueeze(1)).exp();        // (N, C)
        var teacherProbs = (teacherLogits!.DivScalar(_temperature) - _teacherLogZ!.unsqueeze(1)).exp(); // (N, C)
        return (studentProbs - teacherProbs).mul(upstream.MulScalar(_temperature).unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>The scalar loss of per-position values (N): Σ values / N (0 when there are none), the sum-then-divide order every mimic loss uses.</summary>
    public static Tensor MeanOverPositions(Tensor perPosition) => perPosition.sum().DivScalar(Math.Max(1, perPosition.shape[0]));
}
