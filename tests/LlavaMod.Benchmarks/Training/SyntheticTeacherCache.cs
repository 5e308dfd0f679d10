using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.LogitCache;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// Writes a real logit cache (our <see cref="LogitCacheWriter"/>, top-16 + tail, the demo's format) holding
/// <see cref="SyntheticDemoRows.TeacherTopK"/> for every supervised token of the given rows, so the mimic and d2s
/// steps read their teacher through the trainer's own path (<see cref="LogitCacheSet"/> inside the objective).
/// </summary>
public static class SyntheticTeacherCache
{
    const string FileName = "bench.logits.parquet";

    /// <summary>Writes the cache of <paramref name="rows"/> (supervised rows keyed by <see cref="SyntheticDemoRows.Key"/>) into <paramref name="dir"/>.</summary>
    public static void Write(string dir, VocabSubset subset, IEnumerable<SupervisedExample> rows)
    {
        Directory.CreateDirectory(dir);
        var metadata = new LogitCacheMetadata(SyntheticDemoRows.TopK, ModelPresets.QwenVocabSize, "synthetic-benchmark-teacher", "synthetic-benchmark-tokenizer");
        long rowCount = 0, tokens = 0;
        var writer = LogitCacheWriter.CreateAsync(Path.Combine(dir, FileName), metadata).GetAwaiter().GetResult();
        try
        {
            foreach (var row in rows)
            {
                long g = long.Parse(row.Key[1..], System.Globalization.CultureInfo.InvariantCulture);
                int n = row.SupervisedCount;
                var ids = new int[n][];
                var logProbs = new float[n][];
                for (int t = 0; t < n; t++)
                {
                    var (columns, lps) = SyntheticDemoRows.TeacherTopK(g, t);
                    ids[t] = columns.Select(subset.TokenIdAt).ToArray();
                    logProbs[t] = lps;
                }
                writer.AppendAsync(row.Key, ids, logProbs, Enumerable.Repeat(SyntheticDemoRows.TeacherTailLogMass, n).ToArray()).GetAwaiter().GetResult();
                rowCount++;
                tokens += n;
            }
            writer.CompleteAsync().GetAwaiter().GetResult();
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        string path = Path.Combine(dir, FileName);
        new LogitCacheManifest
        {
            TeacherFolder = "synthetic", TeacherFingerprint = metadata.TeacherFingerprint, TokenizerFingerprint = metadata.TokenizerFingerprint,
            DataFolder = "synthetic", K = metadata.K, VocabSize = metadata.VocabSize, VocabSubset = subset.TokenIds,
            Shards = [new LogitCacheShard(FileName, "synthetic", rowCount, tokens, new FileInfo(path).Length, "", 1 - Math.Exp(SyntheticDemoRows.TeacherTailLogMass))],
        }.Save(dir);
    }
}
