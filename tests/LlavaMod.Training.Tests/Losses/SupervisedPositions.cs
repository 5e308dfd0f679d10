using LlavaMod.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Losses;

/// <summary>
/// The N supervised positions of a [B, T, V] batch, chosen the way the Python references (and
/// Hugging Face) align labels: position t is trained when label t + 1 is not ignored. The losses
/// under test take only those positions, as the model's training forward returns them.
/// </summary>
internal static class SupervisedPositions
{
    /// <summary>[B, T] bool: label t + 1 is supervised; the last position never is.</summary>
    public static Tensor Mask(Tensor labels) => Shifted(labels).ne(Ignored);

    /// <summary>(N) the supervised next tokens, row by row.</summary>
    public static Tensor Targets(Tensor labels) => Shifted(labels)[Mask(labels)];

    /// <summary>(N) the batch row of each supervised position.</summary>
    public static long[] Rows(Tensor labels) => Mask(labels).nonzero()[TensorIndex.Colon, 0].data<long>().ToArray();

    /// <summary>(N, …) the values of <paramref name="x"/> ([B, T, …]) at the supervised positions; keeps autograd.</summary>
    public static Tensor Select(Tensor x, Tensor labels) => x[Mask(labels)];

    /// <summary>Summed log-prob of each row's supervised tokens (B) and their count (B), the inputs of the preference losses.</summary>
    public static (Tensor Sum, Tensor Count) SequenceLogProbs(Tensor logits, Tensor labels)
    {
        var perToken = Select(logits, labels).log_softmax(-1).gather(-1, Targets(labels).unsqueeze(-1)).squeeze(-1); // (N)
        var rows = tensor(Rows(labels));
        long b = labels.shape[0];
        using var one = 1.ToScalar();
        var sum = zeros(b, dtype: perToken.dtype).index_add(0, rows, perToken, one);
        return (sum, Mask(labels).sum(1));
    }

    static readonly TorchSharp.Scalar Ignored = LlavaBatch.IgnoreIndex.ToScalar();

    static Tensor Shifted(Tensor labels)
    {
        long t = labels.shape[1];
        var pad = full(labels.shape[0], 1, Ignored, dtype: labels.dtype, device: labels.device);
        return cat([labels.narrow(1, 1, t - 1), pad], 1);
    }
}
