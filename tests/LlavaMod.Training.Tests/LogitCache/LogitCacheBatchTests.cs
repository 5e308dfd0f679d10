using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.LogitCache;
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
    public void Cached_tokens_become_the_targets_of_the_supervised_positions_row_by_row_in_student_columns()
    {
        TorchRuntime.EnsureLoaded();
        var rows = new[]
        {
            new TopKRow("a", [[5, 1], [6, 2]], [[-0.1f, -3f], [-0.2f, -2f]], [-4f, -5f]),
            new TopKRow("b", [[7, 0]], [[-0.3f, -1.5f]], [-6f]),
        };
        var requests = new[] { new CachedRowRequest("a", 2), new CachedRowRequest("b", 1) };
        using var batch = LogitCacheBatch.Build(rows, requests, k: 2, vocabSize: 10);
        Assert.Equal(new long[] { 3, 2 }, batch.Ids.shape);
        Assert.Equal(new long[] { 5, 1, 6, 2, 7, 0 }, batch.Ids.data<long>().ToArray());
        Assert.Equal(new[] { -0.1f, -3f, -0.2f, -2f, -0.3f, -1.5f }, batch.LogProbs.data<float>().ToArray());
        Assert.Equal(new[] { -4f, -5f, -6f }, batch.TailLogMass.data<float>().ToArray());

        // A vocabulary subset maps token ids to the student's logit columns.
        var subset = new VocabSubset([0, 1, 2, 5, 6, 7]);
        using var mapped = LogitCacheBatch.Build(rows, requests, k: 2, vocabSize: 6, subset);
        Assert.Equal(new long[] { 3, 1, 4, 2, 5, 0 }, mapped.Ids.data<long>().ToArray());
    }

    [Fact]
    public void A_row_whose_token_count_differs_or_an_id_outside_the_student_vocabulary_is_an_error_naming_the_row()
    {
        TorchRuntime.EnsureLoaded();
        var row = new TopKRow("a", [[5, 1], [6, 2]], [[-0.1f, -3f], [-0.2f, -2f]], [-4f, -5f]);
        var count = Assert.Throws<LlavaModException>(() => LogitCacheBatch.Build([row], [new CachedRowRequest("a", 3)], k: 2, vocabSize: 10));
        Assert.Equal("row a: the logit cache has 2 tokens but the data row supervises 3: the cache was made from other data or another template", count.Message);
        var outside = Assert.Throws<LlavaModException>(() => LogitCacheBatch.Build([row], [new CachedRowRequest("a", 2)], k: 2, vocabSize: 6));
        Assert.Equal("row a: the teacher's token 6 is outside the student's vocabulary: teacher and student vocabularies do not match", outside.Message);
        var notInSubset = Assert.Throws<LlavaModException>(() => LogitCacheBatch.Build([row], [new CachedRowRequest("a", 2)], k: 2, vocabSize: 3, new VocabSubset([1, 5, 6])));
        Assert.Contains("token 2 is outside the student's vocabulary subset", notInSubset.Message);
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
        using var ignored = LlavaBatch.IgnoreIndex.ToScalar();
        foreach (var (row, column) in new[] { (0, 0), (1, 7), (2, 0), (2, 1) }) labels[row, column].fill_(ignored);
        var mask = SupervisedPositions.Mask(labels);
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
        using var cached = LogitCacheBatch.Build(rows, rows.Select(r => new CachedRowRequest(r.Key, r.TokenCount)).ToList(), k, vocab);

        var exact = FusedOnLogits.TopK(student[mask], ids[mask], lp[mask], tail[mask]);
        var fromCache = FusedOnLogits.TopK(student[mask], cached.Ids, cached.LogProbs, cached.TailLogMass);
        // Each teacher log-prob moves by ≤ s/2, so each p_T·log term moves by about p_T·s/2 (plus the tail term).
        double tolerance = metadata.MaxLogProbError * (1 + exact.Loss.item<float>()) * 1.5;
        Assert.InRange(fromCache.Loss.item<float>(), exact.Loss.item<float>() - tolerance, exact.Loss.item<float>() + tolerance);
        Assert.Equal(exact.TeacherCoveredMass, fromCache.TeacherCoveredMass, 2);
    }
}
