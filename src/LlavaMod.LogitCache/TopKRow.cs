namespace LlavaMod.LogitCache;

/// <summary>
/// The cached teacher outputs of one data row: for each supervised token (in order), the top-k
/// ids and log-probs (sorted by log-prob, descending) and the tail log-mass log(1 − Σ top-k p).
/// </summary>
public sealed record TopKRow(string Key, int[][] Ids, float[][] LogProbs, float[] TailLogMass)
{
    public int TokenCount => Ids.Length;
}
