using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using LlavaMod.LogitCache;
using LlavaMod.Training.Losses;
using LlavaMod.Training.Tests.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.LogitCache;

public sealed class SparseLogitSamplingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-sls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Tensor GradOf(Tensor student, Func<Tensor, Tensor> loss)
    {
        var s = student.detach().requires_grad_(true);
        loss(s).backward();
        return s.grad!.detach().clone();
    }

    [Fact]
    public void Sampled_gradients_average_to_the_full_kl_gradient_where_top_k_stays_biased()
    {
        TorchRuntime.EnsureLoaded();
        const int vocab = 20, positions = 4, draws = 8, repeats = 600, k = draws;
        var gen = new Generator(99);
        var teacher = randn(1, positions, vocab, generator: gen).MulScalar(1.5);
        var student = randn(1, positions, vocab, generator: gen);
                var full = GradOf(student, s => FusedOnLogits.Kl(s[0], teacher[0]));

        var sum = zeros_like(full);
        for (int r = 0; r < repeats; r++)
        {
            var row = SparseLogitSampling.SampleRow("r", teacher[0], draws, generator: gen);
            using var batch = LogitCacheBatch.Build([row], [new CachedRowRequest(row.Key, positions)], draws, vocab);
            sum += GradOf(student, s => FusedOnLogits.TopK(s[0], batch.Ids, batch.LogProbs, batch.TailLogMass).Loss);
        }
        var sampledMean = sum.DivScalar(repeats);
        var (ids, lp, tail) = MimicLossTests.TeacherTopK(teacher, k);
        var topK = GradOf(student, s => FusedOnLogits.TopK(s[0], ids[0], lp[0], tail[0]).Loss);

        double fullNorm = full.norm().item<float>();
        double sampledError = (sampledMean - full).norm().item<float>() / fullNorm;
        double topKError = (topK - full).norm().item<float>() / fullNorm;
        // 4,800 draws: the mean's relative error is a few percent; top-8 of 20 keeps a fixed bias.
        Assert.True(sampledError < 0.08, $"sampled gradient mean is off by {sampledError:P1} of the full gradient");
        Assert.True(topKError > 2 * sampledError, $"top-{k} bias {topKError:P1} should exceed the sampling error {sampledError:P1}");
    }

    [Fact]
    public async Task Sampled_rows_with_repeated_ids_round_trip_and_top_k_caches_still_refuse_repeats()
    {
        TorchRuntime.EnsureLoaded();
        var teacher = randn(5, 50, generator: new Generator(5)).MulScalar(4);
        var row = SparseLogitSampling.SampleRow("s", teacher, draws: 16, generator: new Generator(6));
        Assert.Contains(row.Ids, ids => ids.Distinct().Count() < ids.Length); // peaked teacher: repeats happen
        string path = Path.Combine(_dir, "sampled.parquet");
        var metadata = new LogitCacheMetadata(16, 50, "t", "tok", Scheme: LogitCacheScheme.SampledWithReplacement);
        await SyntheticTeacher.WriteAsync(path, metadata, [row]);
        await using (var reader = await LogitCacheReader.OpenAsync(path))
        {
            Assert.Equal(LogitCacheScheme.SampledWithReplacement, reader.Metadata.Scheme);
            var back = await reader.ReadAsync("s");
            for (int t = 0; t < 5; t++)
            {
                Assert.Equal(row.Ids[t], back.Ids[t]);
                Assert.All(back.LogProbs[t], v => Assert.Equal(-MathF.Log(16), v, 5));
            }
        }
        string topKPath = Path.Combine(_dir, "topk.parquet");
        await using var writer = await LogitCacheWriter.CreateAsync(topKPath, metadata with { Scheme = LogitCacheScheme.TopKTail });
        await Assert.ThrowsAsync<LlavaModException>(() => writer.AppendAsync(row));
    }
}
