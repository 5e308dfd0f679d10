using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Full-vocabulary mimic losses between student and teacher logits at the N supervised positions
/// of a batch ((N, V) each, same V: the training forward's loss-position contract), averaged over
/// the positions.
/// <para>
/// <see cref="KlDivergence"/> is forward KL(p_T ‖ p_S). LLaVA-MoD's code minimises the soft
/// cross-entropy −Σ_v p_T(v) log p_S(v) = KL + H(p_T); the two differ by the teacher entropy, a
/// constant for the student, so their gradients are equal, and KL reads 0 when the student matches. With temperature τ both use softmax(z/τ) for
/// teacher and student and multiply by τ² (Hinton et al.), which keeps gradient magnitudes
/// comparable across temperatures; τ = 1 (LLaVA-MoD's setting) changes nothing.
/// Softmaxes run in float32 at least (bf16 logits are upcast), as LLaVA-MoD does.
/// </para>
/// </summary>
public static class FullVocabularyMimic
{
    public static Tensor KlDivergence(Tensor studentLogits, Tensor teacherLogits, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var (logpS, logpT) = LogSoftmaxes(studentLogits, teacherLogits, temperature); // (N, V) each
        // p_T·(log p_T − log p_S); where p_T underflows to 0 the term is 0 and stays finite.
        var perPosition = (logpT.exp() * (logpT - logpS)).sum(-1);                     // (N)
        return MeanOverPositions(perPosition).MulScalar(temperature * temperature).MoveToOuterDisposeScope();
    }

    static (Tensor LogpS, Tensor LogpT) LogSoftmaxes(Tensor student, Tensor teacher, double temperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be positive");
        if (!student.shape.SequenceEqual(teacher.shape) || student.dim() != 2)
            throw new ArgumentException($"student and teacher logits must both be (N, V), got [{string.Join(", ", student.shape)}] and [{string.Join(", ", teacher.shape)}]");
        var s = UpcastForSoftmax(student).DivScalar(temperature);
        var t = UpcastForSoftmax(teacher.detach()).DivScalar(temperature);
        return (s.log_softmax(-1), t.log_softmax(-1));
    }

    /// <summary>Σ values / N over the N positions (0 when there are none), the sum-then-divide order every mimic loss uses.</summary>
    internal static Tensor MeanOverPositions(Tensor perPosition) => perPosition.sum().DivScalar(Math.Max(1, perPosition.shape[0]));

    internal static Tensor UpcastForSoftmax(Tensor x) =>
        x.dtype is ScalarType.Float32 or ScalarType.Float64 ? x : x.to_type(ScalarType.Float32);
}
