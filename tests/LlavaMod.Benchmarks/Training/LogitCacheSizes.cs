using LlavaMod.LogitCache;
using LlavaMod.Training.Tests.LogitCache;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>cache-size</c>: bytes per token of logit cache files written from synthetic peaked teachers (the whole file,
/// footer included), for several k, Zipf priors and log-prob gap steps; then why ids are kept in descending-probability
/// order: ids sorted ascending and delta-coded are cheaper, but the log-probs then come in id order, no longer monotone,
/// and their codes grow by more than the ids save (the order information moves, it does not vanish: log2(k!) bits a
/// token either way). Both layouts compressed with zstd column by column. Measurements, not checks: they live here
/// rather than in the test suite.
/// </summary>
public static class LogitCacheSizes
{
    const int Vocab = 151_936;

    public static async Task<int> RunAsync()
    {
        string dir = Directory.CreateTempSubdirectory("llavamod-cache-size-").FullName;
        try
        {
            foreach (var (k, zipf, stepsPerNat) in new[] { (64, 0.0, 64), (64, 1.0, 64), (50, 0.0, 64), (50, 1.0, 64), (50, 1.0, 16) })
            {
                var rows = SyntheticTeacher.Rows(rows: 24, minTokens: 60, maxTokens: 100, Vocab, k, scale: 6, zipf: zipf, seed: 3);
                string path = Path.Combine(dir, $"size-{k}-{zipf}-{stepsPerNat}.parquet");
                await SyntheticTeacher.WriteAsync(path, SyntheticTeacher.Metadata(Vocab, k) with { GapStep = 1.0 / stepsPerNat }, rows);
                long tokens = rows.Sum(r => r.TokenCount);
                double covered = rows.SelectMany(r => r.LogProbs).Average(lp => lp.Sum(v => Math.Exp(v)));
                Console.WriteLine($"k={k}, zipf {zipf}, gap step 1/{stepsPerNat}: {(double)new FileInfo(path).Length / tokens:F1} bytes/token over {tokens} tokens " +
                                  $"(bit-packed ids alone {k * Math.Ceiling(Math.Log2(Vocab)) / 8.0:F1}; top-k covers {covered:P1} of the mass)");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        CompareIdLayouts(k: 50, zipf: 1.0);
        return 0;
    }

    static void CompareIdLayouts(int k, double zipf)
    {
        const double step = LogitCacheMetadata.DefaultGapStep;
        var rows = SyntheticTeacher.Rows(rows: 12, minTokens: 60, maxTokens: 100, Vocab, k, scale: 6, zipf, seed: 5);
        var tokens = rows.SelectMany(r => Enumerable.Range(0, r.TokenCount).Select(t => (Ids: r.Ids[t], Lp: r.LogProbs[t]))).ToList();

        // Shipped: probability order, ids as byte planes, monotone log-prob codes.
        var top1 = new List<byte>();
        var gaps = new List<byte>();
        foreach (var (_, lp) in tokens) LogProbGapCodec.Encode(lp, step, top1, gaps);
        var planes = IdBytePlanes.Split(tokens.SelectMany(t => t.Ids).ToArray(), IdBytePlanes.PlanesFor(Vocab));
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
        long sortedIds = Zstd(idGaps.ToArray()), sortedCodes = Zstd(codes.ToArray());
        Console.WriteLine($"k={k}, zipf {zipf}, {tokens.Count} tokens: probability order + byte planes {(double)shipped / tokens.Count:F1} B/token, " +
                          $"sorted delta ids {(double)sortedIds / tokens.Count:F1} + id-order log-probs {(double)sortedCodes / tokens.Count:F1} = {(double)(sortedIds + sortedCodes) / tokens.Count:F1} B/token");
    }

    static long Zstd(byte[] bytes) => new ZstdSharp.Compressor(19).Wrap(bytes).Length;

    static void Varint(List<byte> output, ulong value)
    {
        while (value >= 0x80) { output.Add((byte)(value | 0x80)); value >>= 7; }
        output.Add((byte)value);
    }
}
