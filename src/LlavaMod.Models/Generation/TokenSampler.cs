using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Generation;

/// <summary>Turns next-token logits [R, V] into one choice per row (greedy, or temperature/top-k/top-p sampling with a generator per row).</summary>
public static class TokenSampler
{
    /// <summary>Filtered, temperature-scaled scores [R, V]: −∞ outside top-k and outside the top-p nucleus.</summary>
    public static Tensor Filter(Tensor logits, double temperature, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32).DivScalar(temperature);
        long vocab = scores.shape[^1];
        if (topK > 0 && topK < vocab)
        {
            var kth = scores.topk(topK, dim: -1).values[.., ^1..];           // [R, 1]
            scores = scores.masked_fill(scores.lt(kth), LongLivedScalars.NegativeInfinity);
        }
        if (topP < 1.0)
        {
            var (sorted, order) = scores.sort(dim: -1, descending: true);
            var probs = nn.functional.softmax(sorted, -1);
            var before = probs.cumsum(-1) - probs;                             // mass of strictly more likely tokens
            using var topPScalar = topP.ToScalar();
            var dropSorted = before.ge(topPScalar);                                 // the most likely token always stays
            var drop = zeros_like(dropSorted).scatter(-1, order, dropSorted);
            scores = scores.masked_fill(drop, LongLivedScalars.NegativeInfinity);
        }
        return scores.MoveToOuterDisposeScope();
    }

    /// <summary>Chosen column per row. Greedy when <paramref name="options"/> says so; otherwise row r samples with <paramref name="generators"/>[r].</summary>
    public static long[] Choose(Tensor logits, GenerationOptions options, IReadOnlyList<Generator> generators)
    {
        using var scope = NewDisposeScope();
        if (options.Greedy) return logits.argmax(-1).cpu().data<long>().ToArray();
        var probs = nn.functional.softmax(Filter(logits, options.Temperature, options.TopK, options.TopP), -1).cpu();
        var chosen = new long[probs.shape[0]];
        for (int r = 0; r < chosen.Length; r++)
            chosen[r] = multinomial(probs[r], 1, replacement: false, generator: generators[r]).item<long>();
        return chosen;
    }
}
