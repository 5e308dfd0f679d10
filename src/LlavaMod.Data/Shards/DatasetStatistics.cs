namespace LlavaMod.Data.Shards;

/// <summary>
/// Counts over a dataset (or one block of it). Histograms use power-of-two buckets keyed by their
/// upper bound: tokens "64" counts rows with 33–64 tokens; images by their longer stored side.
/// Everything adds up, so per-block statistics sum to the dataset's.
/// </summary>
public sealed class DatasetStatistics
{
    public long SourceRows { get; set; }
    public long Rows { get; set; }
    public long Rejected { get; set; }
    public long DuplicatesDropped { get; set; }
    public long Tokens { get; set; }
    public long RowsWithImage { get; set; }
    public SortedDictionary<string, long> RejectsByReason { get; set; } = new(StringComparer.Ordinal);
    public SortedDictionary<int, long> TokenHistogram { get; set; } = new();
    public SortedDictionary<int, long> ImageSideHistogram { get; set; } = new();

    public void AddRow(IShardRow row)
    {
        Rows++;
        Tokens += row.NumTokens;
        Bump(TokenHistogram, Bucket(row.NumTokens));
        if (row.Width is int w && row.Height is int h)
        {
            RowsWithImage++;
            Bump(ImageSideHistogram, Bucket(Math.Max(w, h)));
        }
    }

    public void AddReject(string reason)
    {
        Rejected++;
        RejectsByReason[reason] = RejectsByReason.GetValueOrDefault(reason) + 1;
    }

    public void Add(DatasetStatistics other)
    {
        SourceRows += other.SourceRows;
        Rows += other.Rows;
        Rejected += other.Rejected;
        DuplicatesDropped += other.DuplicatesDropped;
        Tokens += other.Tokens;
        RowsWithImage += other.RowsWithImage;
        foreach (var (k, v) in other.RejectsByReason) RejectsByReason[k] = RejectsByReason.GetValueOrDefault(k) + v;
        foreach (var (k, v) in other.TokenHistogram) TokenHistogram[k] = TokenHistogram.GetValueOrDefault(k) + v;
        foreach (var (k, v) in other.ImageSideHistogram) ImageSideHistogram[k] = ImageSideHistogram.GetValueOrDefault(k) + v;
    }

    /// <summary>Smallest power of two ≥ value (1 for 0 or 1).</summary>
    public static int Bucket(int value) => value <= 1 ? 1 : (int)Math.Min(1L << 30, 1L << (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(value - 1))));

    static void Bump(SortedDictionary<int, long> h, int bucket) => h[bucket] = h.GetValueOrDefault(bucket) + 1;
}
