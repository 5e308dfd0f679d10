using LlavaMod.LogitCache;
using Xunit.Abstractions;

namespace LlavaMod.Training.Tests.LogitCache;

/// <summary>
/// Why the cache keeps ids in descending-probability order: storing each token's ids sorted
/// ascending and delta-coded makes the ids cheaper, but the log-probs then come in id order, no longer
/// monotone, and their codes grow by more than the ids saved (the order information moves, it does
/// not vanish: log2(k!) bits a token either way). Both layouts compressed with zstd column by column.
/// </summary>
public sealed class LayoutAlternativesTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(50, 1.0)]
    public void Sorted_delta_coded_ids_cost_more_than_probability_ordered_byte_planes(int k, double zipf)
    {
        const int vocab = 151_936;
        const double step = LogitCacheMetadata.DefaultGapStep;
        var rows = SyntheticTeacher.Rows(rows: 12, minTokens: 60, maxTokens: 100, vocab, k, scale: 6, zipf, seed: 5);
        var tokens = rows.SelectMany(r => Enumerable.Range(0, r.TokenCount).Select(t => (Ids: r.Ids[t], Lp: r.LogProbs[t]))).ToList();

        // Shipped: probability order, ids as byte planes, monotone log-prob codes.
        var top1 = new List<byte>();
        var gaps = new List<byte>();
        foreach (var (_, lp) in tokens) LogProbGapCodec.Encode(lp, step, top1, gaps);
        var planes = IdBytePlanes.Split(tokens.SelectMany(t => t.Ids).ToArray(), IdBytePlanes.PlanesFor(vocab));
        long shipped = planes.Sum(Zstd) + Zstd(top1.ToArray()) + Zstd(gaps.ToArray());

        // Alternative: ids ascending as varint gaps, log-prob codes round(-lp/s) in that id order.
        var idGaps = new List<byte>();
        var codes = new List<byte>();
        foreach (var (ids, lp) in tokens)
        {
            int previous = -1;
            foreach (int j in Enumerable.Range(0, k).OrderBy(j => ids[j]))
            {
                Varint(idGaps, (ulong)(ids[j] - previous - 1));
                Varint(codes, (ulong)Math.Round(-lp[j] / step));
                previous = ids[j];
            }
        }
        long sortedIds = Zstd(idGaps.ToArray()) + Zstd(codes.ToArray());

        output.WriteLine($"k={k}, zipf {zipf}, {tokens.Count} tokens: probability order + byte planes {(double)shipped / tokens.Count:F1} B/token, " +
                         $"sorted delta ids {(double)Zstd(idGaps.ToArray()) / tokens.Count:F1} + id-order log-probs {(double)Zstd(codes.ToArray()) / tokens.Count:F1} = {(double)sortedIds / tokens.Count:F1} B/token");
        Assert.True(sortedIds > shipped);
    }

    static long Zstd(byte[] bytes) => new ZstdSharp.Compressor(19).Wrap(bytes).Length;

    static void Varint(List<byte> output, ulong value)
    {
        while (value >= 0x80) { output.Add((byte)(value | 0x80)); value >>= 7; }
        output.Add((byte)value);
    }
}
