using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Teacher.LogitCache;

/// <summary>Cached teacher outputs of a batch laid out on token positions, ready for the top-k + tail mimic loss.</summary>
/// <param name="Ids">[B, T, k] long</param>
/// <param name="LogProbs">[B, T, k] float32</param>
/// <param name="TailLogMass">[B, T] float32</param>
public sealed record TopKBatchTensors(Tensor Ids, Tensor LogProbs, Tensor TailLogMass) : IDisposable
{
    public void Dispose() { Ids.Dispose(); LogProbs.Dispose(); TailLogMass.Dispose(); }
}

/// <summary>Builds <see cref="TopKBatchTensors"/> from cache rows.</summary>
public static class LogitCacheBatch
{
    /// <summary>
    /// Places row b's i-th cached token at the i-th true position of <paramref name="predictionMask"/>[b]
    /// ([B, T] bool: position t is true when token t + 1 is supervised, the positions whose logits
    /// the cache's teacher distributions belong to). Other positions get k distinct dummy ids with
    /// uniform log-probs and an empty tail, finite values the masked loss ignores. A row whose token
    /// count differs from its number of positions means the cache came from another tokenizer or
    /// template: that is a <see cref="LlavaModException"/> naming the key.
    /// </summary>
    public static TopKBatchTensors Build(IReadOnlyList<TopKRow> rows, Tensor predictionMask, int k, Device? device = null)
    {
        if (predictionMask.dim() != 2 || predictionMask.shape[0] != rows.Count)
            throw new ArgumentException($"prediction mask must be [B = {rows.Count}, T], got [{string.Join(", ", predictionMask.shape)}]");
        int b = rows.Count, t = (int)predictionMask.shape[1];
        bool[] mask;
        using (var cpuMask = predictionMask.to_type(ScalarType.Bool).cpu().contiguous())
            mask = cpuMask.data<bool>().ToArray();
        var ids = new long[b * t * k];
        var logProbs = new float[b * t * k];
        var tail = new float[b * t];
        float uniform = -MathF.Log(k);
        for (int r = 0; r < b; r++)
        {
            var row = rows[r];
            int positions = 0;
            for (int p = 0; p < t; p++) if (mask[r * t + p]) positions++;
            if (positions != row.TokenCount)
                throw new LlavaModException($"logit cache row '{row.Key}' holds {row.TokenCount} tokens but the batch supervises {positions} positions for it: the cache was built with another tokenizer, template or truncation length.");
            int next = 0;
            for (int p = 0; p < t; p++)
            {
                int cell = r * t + p;
                if (mask[cell])
                {
                    int[] tokenIds = row.Ids[next];
                    float[] tokenLp = row.LogProbs[next];
                    if (tokenIds.Length != k || tokenLp.Length != k)
                        throw new LlavaModException($"logit cache row '{row.Key}', token {next}: {tokenIds.Length} entries, expected k = {k}");
                    for (int j = 0; j < k; j++) { ids[cell * k + j] = tokenIds[j]; logProbs[cell * k + j] = tokenLp[j]; }
                    tail[cell] = row.TailLogMass[next];
                    next++;
                }
                else
                {
                    for (int j = 0; j < k; j++) { ids[cell * k + j] = j; logProbs[cell * k + j] = uniform; }
                    tail[cell] = float.NegativeInfinity;
                }
            }
        }
        var dev = device ?? predictionMask.device;
        return new TopKBatchTensors(
            tensor(ids, [b, t, k], device: dev),
            tensor(logProbs, [b, t, k], device: dev),
            tensor(tail, [b, t], device: dev));
    }
}
