using LlavaMod.Models.Runtime;
using LlavaMod.LogitCache;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.LogitCache;

/// <summary>
/// Peaked synthetic teacher distributions: logits = scale·N(0, 1) over the vocabulary, optionally
/// plus a Zipf-like prior −zipf·log(1 + id) (BPE ids follow merge order, roughly frequency, so
/// real teachers put their top-k on small ids more often than uniformly). Exact top-k and tail.
/// </summary>
internal static class SyntheticTeacher
{
    public static List<TopKRow> Rows(int rows, int minTokens, int maxTokens, int vocab, int k, double scale, double zipf, int seed)
    {
        TorchRuntime.EnsureLoaded();
        var gen = new Generator((ulong)seed);
        var random = new Random(seed);
        using var prior = zipf == 0 ? zeros(vocab, dtype: ScalarType.Float64) : ScalarOps.Arange(vocab, dtype: ScalarType.Float64).AddScalar(1).log().MulScalar(-zipf);
        var result = new List<TopKRow>();
        for (int r = 0; r < rows; r++)
        {
            int tokens = random.Next(minTokens, maxTokens + 1);
            if (tokens == 0) { result.Add(new TopKRow($"row-{seed}-{r:D5}", [], [], [])); continue; }
            using var scope = NewDisposeScope();
            var logits = randn(tokens, vocab, dtype: ScalarType.Float64, generator: gen).MulScalar(scale).Plus(prior);
            var lp = logits.log_softmax(-1);
            var (values, ids) = lp.topk(k, dim: -1);
            var inTop = zeros_like(lp, dtype: ScalarType.Bool).scatter(-1, ids, ones_like(ids, dtype: ScalarType.Bool));
            var tail = lp.masked_fill(inTop, LongLivedScalars.NegativeInfinity).logsumexp(-1);
            var idArr = ids.to_type(ScalarType.Int32).data<int>().ToArray();
            var lpArr = values.to_type(ScalarType.Float32).data<float>().ToArray();
            result.Add(new TopKRow(
                $"row-{seed}-{r:D5}",
                Enumerable.Range(0, tokens).Select(t => idArr.AsSpan(t * k, k).ToArray()).ToArray(),
                Enumerable.Range(0, tokens).Select(t => lpArr.AsSpan(t * k, k).ToArray()).ToArray(),
                tail.to_type(ScalarType.Float32).data<float>().ToArray()));
        }
        return result;
    }

    public static LogitCacheMetadata Metadata(int vocab, int k, int rowGroupRows = LogitCacheMetadata.DefaultRowGroupRows) =>
        new(k, vocab, TeacherFingerprint: "sha256:teacher-test", TokenizerFingerprint: "sha256:tokenizer-test", RowGroupRows: rowGroupRows);

    public static async Task WriteAsync(string path, LogitCacheMetadata metadata, IEnumerable<TopKRow> rows)
    {
        await using var writer = await LogitCacheWriter.CreateAsync(path, metadata);
        foreach (var row in rows) await writer.AppendAsync(row);
        await writer.CompleteAsync();
    }
}
