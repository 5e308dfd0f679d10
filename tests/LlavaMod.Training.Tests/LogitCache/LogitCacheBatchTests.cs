using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using LlavaMod.Teacher.LogitCache;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Tests.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.LogitCache;

public sealed class LogitCacheBatchTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cache-batch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Cached_tokens_land_on_the_positions_that_predict_the_supervised_tokens()
    {
        TorchRuntime.EnsureLoaded();
        var labels = tensor(new long[,] { { -100, -100, 5, 6, -100 }, { -100, 7, 8, -100, -100 } });
        var mask = TokenAlignment.PredictionMask(labels); // row 0: positions 1, 2; row 1: positions 0, 1
        var rows = new[]
        {
            new TopKRow("a", [[5, 1], [6, 2]], [[-0.1f, -3f], [-0.2f, -2f]], [-4f, -5f]),
            new TopKRow("b", [[7, 0], [8, 3]], [[-0.3f, -1.5f], [-0.4f, -1.2f]], [-6f, -7f]),
        };
        using var batch = LogitCacheBatch.Build(rows, mask, k: 2);
        Assert.Equal(new long[] { 2, 5, 2 }, batch.Ids.shape);
        Assert.Equal(new long[] { 5, 1 }, batch.Ids[0, 1].data<long>().ToArray());
        Assert.Equal(new long[] { 6, 2 }, batch.Ids[0, 2].data<long>().ToArray());
        Assert.Equal(new long[] { 7, 0 }, batch.Ids[1, 0].data<long>().ToArray());
        Assert.Equal(new long[] { 8, 3 }, batch.Ids[1, 1].data<long>().ToArray());
        Assert.Equal(-0.2f, batch.LogProbs[0, 2, 0].item<float>());
        Assert.Equal(-7f, batch.TailLogMass[1, 1].item<float>());
        Assert.True(batch.LogProbs.isfinite().all().item<bool>());

        var wrong = new[] { rows[0], rows[0] with { Key = "c", Ids = [[1, 2]], LogProbs = [[-1f, -2f]], TailLogMass = [-1f] } };
        var e = Assert.Throws<LlavaModException>(() => LogitCacheBatch.Build(wrong, mask, k: 2));
        Assert.Contains("'c'", e.Message);
    }

    [Fact]
    public async Task Loss_from_the_cache_matches_the_loss_from_exact_teacher_top_k_within_the_quantisation_bound()
    {
        TorchRuntime.EnsureLoaded();
        const int vocab = 300, k = 12;
        var gen = new Generator(17);
        var teacher = randn(3, 8, vocab, generator: gen).MulScalar(3);
        var student = randn(3, 8, vocab, generator: gen).MulScalar(2);
        var labels = randint(0, vocab, [3, 8], generator: gen);
        using var ignored = TokenAlignment.IgnoreIndex.ToScalar();
        foreach (var (row, column) in new[] { (0, 0), (1, 7), (2, 0), (2, 1) }) labels[row, column].fill_(ignored);
        var mask = TokenAlignment.PredictionMask(labels);
        var (ids, lp, tail) = MimicLossTests.TeacherTopK(teacher, k);

        // Write each row's masked positions to the cache, read them back, rebuild tensors.
        string path = Path.Combine(_dir, "batch.parquet");
        var metadata = new LogitCacheMetadata(k, vocab, "t", "tok", RowGroupRows: 2);
        await using (var writer = await LogitCacheWriter.CreateAsync(path, metadata))
        {
            for (int b = 0; b < 3; b++)
            {
                var positions = Enumerable.Range(0, 8).Where(t => mask[b, t].item<bool>()).ToArray();
                await writer.AppendAsync($"row{b}",
                    positions.Select(t => ids[b, t].to_type(ScalarType.Int32).data<int>().ToArray()).ToArray(),
                    positions.Select(t => lp[b, t].data<float>().ToArray()).ToArray(),
                    positions.Select(t => tail[b, t].item<float>()).ToArray());
            }
            await writer.CompleteAsync();
        }
        await using var reader = await LogitCacheReader.OpenAsync(path);
        var rows = new List<TopKRow>();
        for (int b = 0; b < 3; b++) rows.Add(await reader.ReadAsync($"row{b}"));
        using var cached = LogitCacheBatch.Build(rows, mask, k);

        var exact = TopKTailMimic.Compute(student, ids, lp, tail, mask);
        var fromCache = TopKTailMimic.Compute(student, cached.Ids, cached.LogProbs, cached.TailLogMass, mask);
        // Each teacher log-prob moves by ≤ s/2, so each p_T·log term moves by about p_T·s/2 (plus the tail term).
        double tolerance = metadata.MaxLogProbError * (1 + exact.Loss.item<float>()) * 1.5;
        Assert.InRange(fromCache.Loss.item<float>(), exact.Loss.item<float>() - tolerance, exact.Loss.item<float>() + tolerance);
        Assert.Equal(exact.TeacherCoveredMass, fromCache.TeacherCoveredMass, 2);
    }
}
