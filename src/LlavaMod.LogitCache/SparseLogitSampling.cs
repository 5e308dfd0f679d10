using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.LogitCache;

/// <summary>
/// Builds cache rows for <see cref="LogitCacheScheme.SampledWithReplacement"/> (Sparse Logit
/// Sampling, ACL 2025): per position, k ids drawn from the teacher's softmax with replacement, each
/// weighted 1/k. Used with the top-k + tail loss (empty tail), the loss equals the sampled estimate
/// −Σ_j (1/k)·log p_S(id_j) plus a constant, whose expectation over draws is the full soft
/// cross-entropy, so its gradient is unbiased (top-k caching is not). Same bytes per token as top-k
/// at equal k; the log-prob codes are all zero and compress to almost nothing.
/// </summary>
public static class SparseLogitSampling
{
    /// <param name="key">The data row's key.</param>
    /// <param name="teacherLogits">[T, V] teacher logits of the row's supervised positions.</param>
    /// <param name="draws">k, the number of draws per position.</param>
    /// <param name="temperature">Softmax temperature of the teacher (1 in LLaVA-MoD).</param>
    /// <param name="generator">Random generator, for reproducible caches.</param>
    public static TopKRow SampleRow(string key, Tensor teacherLogits, int draws, double temperature = 1.0, Generator? generator = null)
    {
        if (teacherLogits.dim() != 2) throw new ArgumentException($"teacher logits must be [T, V], got [{string.Join(", ", teacherLogits.shape)}]");
        if (draws <= 0) throw new ArgumentOutOfRangeException(nameof(draws), "draws must be positive");
        int tokens = (int)teacherLogits.shape[0];
        if (tokens == 0) return new TopKRow(key, [], [], []);
        using var scope = NewDisposeScope();
        var probs = teacherLogits.detach().to_type(ScalarType.Float64).DivScalar(temperature).softmax(-1);
        var sampled = multinomial(probs, draws, replacement: true, generator: generator).sort(-1).Values;
        int[] flat = sampled.to_type(ScalarType.Int32).cpu().data<int>().ToArray();
        float weight = -MathF.Log(draws);
        return new TopKRow(
            key,
            Enumerable.Range(0, tokens).Select(t => flat.AsSpan(t * draws, draws).ToArray()).ToArray(),
            Enumerable.Range(0, tokens).Select(_ => Enumerable.Repeat(weight, draws).ToArray()).ToArray(),
            Enumerable.Repeat(float.NegativeInfinity, tokens).ToArray());
    }
}
