using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Full-vocabulary mimic losses between student and teacher logits ([B, T, V] each, same V),
/// averaged over the positions where <c>mask</c> ([B, T] bool, see
/// <see cref="TokenAlignment.PredictionMask"/>) is true.
/// <para>
/// <see cref="SoftCrossEntropy"/> is LLaVA-MoD's loss: −Σ_v p_T(v) log p_S(v). <see cref="KlDivergence"/>
/// is forward KL(p_T ‖ p_S) = soft CE − H(p_T); the two differ by the teacher entropy, a constant
/// for the student, so their gradients are equal. With temperature τ both use softmax(z/τ) for
/// teacher and student and multiply by τ² (Hinton et al.), which keeps gradient magnitudes
/// comparable across temperatures; τ = 1 (LLaVA-MoD's setting) changes nothing.
/// Softmaxes run in float32 at least (bf16 logits are upcast), as LLaVA-MoD does.
/// </para>
/// </summary>
public static class FullVocabularyMimic
{
    public static Tensor SoftCrossEntropy(Tensor studentLogits, Tensor teacherLogits, Tensor mask, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var (logpS, logpT) = LogSoftmaxes(studentLogits, teacherLogits, mask, temperature);
        var perPosition = -(logpT.exp() * logpS).sum(-1);
        return TokenAlignment.MaskedMean(perPosition, mask).MulScalar(temperature * temperature).MoveToOuterDisposeScope();
    }

    public static Tensor KlDivergence(Tensor studentLogits, Tensor teacherLogits, Tensor mask, double temperature = 1.0)
    {
        using var scope = NewDisposeScope();
        var (logpS, logpT) = LogSoftmaxes(studentLogits, teacherLogits, mask, temperature);
        // p_T·(log p_T − log p_S); where p_T underflows to 0 the term is 0 and stays finite.
        var perPosition = (logpT.exp() * (logpT - logpS)).sum(-1);
        return TokenAlignment.MaskedMean(perPosition, mask).MulScalar(temperature * temperature).MoveToOuterDisposeScope();
    }

    static (Tensor LogpS, Tensor LogpT) LogSoftmaxes(Tensor student, Tensor teacher, Tensor mask, double temperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be positive");
        if (!student.shape.SequenceEqual(teacher.shape) || student.dim() != 3)
            throw new ArgumentException($"student and teacher logits must both be [B, T, V], got [{string.Join(", ", student.shape)}] and [{string.Join(", ", teacher.shape)}]");
        if (mask.dim() != 2 || mask.shape[0] != student.shape[0] || mask.shape[1] != student.shape[1])
            throw new ArgumentException($"mask must be [B, T] = [{student.shape[0]}, {student.shape[1]}], got [{string.Join(", ", mask.shape)}]");
        var s = UpcastForSoftmax(student).DivScalar(temperature);
        var t = UpcastForSoftmax(teacher.detach()).DivScalar(temperature);
        return (s.log_softmax(-1), t.log_softmax(-1));
    }

    internal static Tensor UpcastForSoftmax(Tensor x) =>
        x.dtype is ScalarType.Float32 or ScalarType.Float64 ? x : x.to_type(ScalarType.Float32);
}
