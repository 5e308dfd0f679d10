using LlavaMod.Core;
using LlavaMod.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.LogitCache;

/// <summary>
/// The cached teacher distributions of a batch, one row per supervised position in the order the
/// model's training forward returns them (row by row, position by position):
/// <paramref name="Ids"/> (N, k) long, as the student's logit columns (vocabulary-subset indices
/// when the student has a subset); <paramref name="LogProbs"/> (N, k) float32;
/// <paramref name="TailLogMass"/> (N) float32, log(1 − Σ_top-k p_T).
/// </summary>
public sealed record TeacherTargets(Tensor Ids, Tensor LogProbs, Tensor TailLogMass) : IDisposable
{
    public void Dispose() { Ids.Dispose(); LogProbs.Dispose(); TailLogMass.Dispose(); }
}

/// <summary>One data row of a batch as the cache is asked for it: its key and how many tokens it supervises.</summary>
public readonly record struct CachedRowRequest(string Key, int SupervisedTokens);

/// <summary>Lays cached rows out as <see cref="TeacherTargets"/> for the N supervised positions of a batch.</summary>
public static class LogitCacheBatch
{
    /// <summary>
    /// Row r's i-th cached token becomes the target of row r's i-th supervised position. A row whose
    /// cached token count differs from the tokens its data row supervises means the cache was made
    /// from other data or another template; a cached id outside the student's vocabulary (or subset)
    /// means teacher and student vocabularies differ: both are errors naming the row.
    /// </summary>
    public static TeacherTargets Build(IReadOnlyList<TopKRow> rows, IReadOnlyList<CachedRowRequest> requests, int k,
        int vocabSize, VocabSubset? subset = null, Device? device = null)
    {
        if (rows.Count != requests.Count) throw new ArgumentException($"{rows.Count} cache rows for {requests.Count} requested rows");
        long n = requests.Sum(r => (long)r.SupervisedTokens);
        var ids = new long[n * k];
        var logProbs = new float[n * k];
        var tail = new float[n];
        long t = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            var (row, request) = (rows[r], requests[r]);
            if (row.TokenCount != request.SupervisedTokens)
                throw new LlavaModException($"row {request.Key}: the logit cache has {row.TokenCount} tokens but the data row supervises {request.SupervisedTokens}: " +
                                            "the cache was made from other data or another template");
            for (int i = 0; i < row.TokenCount; i++, t++)
            {
                if (row.Ids[i].Length != k || row.LogProbs[i].Length != k)
                    throw new LlavaModException($"row {request.Key}, cached token {i}: {row.Ids[i].Length} entries, expected k = {k}");
                for (int j = 0; j < k; j++)
                {
                    int tokenId = row.Ids[i][j];
                    int column = subset is null ? tokenId : subset.IndexOf(tokenId);
                    if (column < 0 || column >= vocabSize)
                        throw new LlavaModException($"row {request.Key}: the teacher's token {tokenId} is outside the student's vocabulary{(subset is null ? "" : " subset")}: " +
                                                    "teacher and student vocabularies do not match");
                    ids[t * k + j] = column;
                    logProbs[t * k + j] = row.LogProbs[i][j];
                }
                tail[t] = row.TailLogMass[i];
            }
        }
        return new TeacherTargets(
            tensor(ids, [n, k], device: device),        // (N, k)
            tensor(logProbs, [n, k], device: device),   // (N, k)
            tensor(tail, [n], device: device));         // (N)
    }
}
