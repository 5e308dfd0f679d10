using LlavaMod.Data.Text;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Models;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using LlavaMod.LogitCache;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Teacher.Passes;

/// <summary>Settings of <c>llavamod teacher cache-logits</c>.</summary>
public sealed record LogitCachePassOptions
{
    public required string Teacher { get; init; }
    public required string Data { get; init; }
    public required string Out { get; init; }
    public int K { get; init; } = 64;
    public int BatchSize { get; init; } = 16;
    /// <summary>Device, torch threads and compute precision (bf16: mixed precision, see <see cref="LlavaMod.Models.Autocast"/>).</summary>
    public RuntimeOptions Runtime { get; init; } = RuntimeOptions.Default;
    /// <summary>This process's share of a split job: it caches the data shards whose index mod n is its own.</summary>
    public WorkerShare Share { get; init; } = WorkerShare.Single;
}

/// <summary>
/// Runs the teacher once over a data folder and stores, for every supervised token of every row,
/// its top-k token ids and log-probs and the tail mass (see <see cref="LogitCacheWriter"/>). One
/// cache file per data shard, same keys in the same order; logit_cache.json is updated after each
/// finished shard, so a rerun skips finished shards and redoes the one that was cut off.
/// Rows are batched in windows of the cache's row group size, sorted by length inside a window to
/// limit padding, and written back in data order.
/// </summary>
public static class LogitCachePass
{
    public static LogitCacheManifest Run(LogitCachePassOptions options, Action<string>? log = null, CancellationToken ct = default)
    {
        log ??= _ => { };
        var data = DatasetManifest.Load(options.Data);
        if (data.Kind != ShardKind.Sft) throw LlavaModException.ForFile(options.Data, "holds preference rows; the logit cache is made from supervised (sft) shards");
        ShardsBeforeUse.Require(options.Data, data, options.Teacher, "teacher");

        var device = options.Runtime.Apply();
        var precision = options.Runtime.Precision;
        using var teacher = Checkpoint.Load(options.Teacher, ScalarType.Float32, device);
        teacher.eval();
        using var autocast = Autocast.Enter(precision); // one scope for the whole pass: each weight is cast once
        var subset = teacher.VocabSubset;
        int vocab = teacher.Config.Text.VocabSize;
        int k = Math.Min(options.K, subset?.Count ?? vocab);
        string fingerprint = ModelFingerprint.OfWeights(options.Teacher);

        using var outputLock = OutputLock.ForFolder(options.Out);
        AtomicFile.CleanStaleTempFiles(options.Out);
        var manifest = ExistingOrNew(options, fingerprint, data, k, vocab, subset);
        var metadata = new LogitCacheMetadata(k, vocab, fingerprint, data.TokenizerFingerprint);

        foreach (var shard in options.Share.Take(data.Shards))
        {
            ct.ThrowIfCancellationRequested();
            string cacheFile = LogitCacheManifest.CacheFileFor(shard.File);
            if (manifest.Shards.Any(s => s.DataShard == shard.File && File.Exists(Path.Combine(options.Out, s.File))))
            {
                log($"{shard.File}: cached earlier, skipped");
                continue;
            }
            var started = DateTime.UtcNow;
            var entry = CacheShard(teacher, Path.Combine(options.Data, shard.File), Path.Combine(options.Out, cacheFile), metadata, options.BatchSize, device, ct,
                progress: (done, total, elapsed) => log($"{shard.File}: {ProgressText.Progress(done, total, elapsed, "rows")}"));
            manifest.Shards.Add(entry with { DataShard = shard.File });
            manifest.Save(options.Out);
            FaultPoint.Pass("shard");
            double seconds = (DateTime.UtcNow - started).TotalSeconds;
            log($"{shard.File}: {entry.Rows} rows, {entry.Tokens} tokens ({entry.Tokens / Math.Max(seconds, 1e-9):F0} tokens/s), {(double)entry.Bytes / Math.Max(1, entry.Tokens):F1} bytes/token, top-{k} covers {entry.MeanCoveredMass:P1}");
        }
        return manifest;
    }

    static LogitCacheManifest ExistingOrNew(LogitCachePassOptions options, string fingerprint, DatasetManifest data, int k, int vocab, VocabSubset? subset)
    {
        if (File.Exists(Path.Combine(options.Out, LogitCacheManifest.FileName)))
        {
            var existing = LogitCacheManifest.Load(options.Out);
            if (existing.TeacherFingerprint != fingerprint || existing.K != k || existing.TokenizerFingerprint != data.TokenizerFingerprint || existing.Precision != options.Runtime.Precision.Name())
                throw LlavaModException.ForFile(options.Out, "holds a cache from another teacher, k, tokenizer or precision; choose an empty --out folder");
            if (existing.DataChecksum is { } recorded && recorded != DataChecksum(data))
                throw LlavaModException.ForFile(options.Out, $"holds a cache of another dataset.json than {options.Data}'s; choose an empty --out folder");
            if (existing.Worker != Part(options, data))
                throw LlavaModException.ForFile(options.Out, $"holds the cache of {Describe(existing.Worker)}, this run is {Describe(Part(options, data))}; give each worker its own --out folder");
            return existing;
        }
        return new LogitCacheManifest
        {
            TeacherFolder = Path.GetFullPath(options.Teacher), TeacherFingerprint = fingerprint,
            TokenizerFingerprint = data.TokenizerFingerprint, DataFolder = Path.GetFullPath(options.Data), DataChecksum = DataChecksum(data),
            K = k, VocabSize = vocab, VocabSubset = subset?.TokenIds, Precision = options.Runtime.Precision.Name(), Worker = Part(options, data),
        };
    }

    static string DataChecksum(DatasetManifest data) => data.Checksum ?? data.ComputeChecksum();

    static WorkerPart? Part(LogitCachePassOptions options, DatasetManifest data) =>
        options.Share.IsSplit ? WorkerPart.Of(options.Share, data.Shards.Select(s => s.File).ToList()) : null;

    internal static string Describe(WorkerPart? part) => part is null ? "one process" : $"worker {part.Worker} of {part.Workers}";

    /// <param name="progress">Told rows done, rows in the shard and time spent after each row group.</param>
    static LogitCacheShard CacheShard(LlavaModel teacher, string shardPath, string cachePath, LogitCacheMetadata metadata, int batchSize, Device device, CancellationToken ct,
        Action<long, long, TimeSpan> progress)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long done = 0;
        var rows = ShardReader.ReadRows(shardPath, ct).ToBlockingEnumerable(ct).Select(SupervisedExample.FromShardRow).ToList();
        var writer = LogitCacheWriter.CreateAsync(cachePath, metadata, ct).GetAwaiter().GetResult();
        double coveredSum = 0;
        long tokens = 0;
        try
        {
            foreach (var window in rows.Chunk(metadata.RowGroupRows))
            {
                var results = new TopKRow[window.Length];
                var order = Enumerable.Range(0, window.Length).OrderBy(i => window[i].InputIds.Length).ToArray();
                foreach (var batchIndexes in order.Chunk(batchSize))
                {
                    ct.ThrowIfCancellationRequested();
                    var batch = batchIndexes.Select(i => window[i]).ToList();
                    var computed = TeacherTopK(teacher, batch, metadata.K, device, out double covered);
                    coveredSum += covered;
                    for (int j = 0; j < batchIndexes.Length; j++) results[batchIndexes[j]] = computed[j];
                }
                foreach (var row in results)
                {
                    writer.AppendAsync(row, ct).GetAwaiter().GetResult();
                    tokens += row.TokenCount;
                }
                done += window.Length;
                progress(done, rows.Count, clock.Elapsed);
            }
            writer.CompleteAsync(ct).GetAwaiter().GetResult();
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return new LogitCacheShard(Path.GetFileName(cachePath), "", rows.Count, tokens, new FileInfo(cachePath).Length,
            Hashing.Sha256OfFile(cachePath), tokens == 0 ? 1 : coveredSum / tokens);
    }

    /// <summary>Top-k of the teacher's next-token distribution at every supervised position of each row.</summary>
    internal static TopKRow[] TeacherTopK(LlavaModel teacher, IReadOnlyList<SupervisedExample> batch, int k, Device device, out double coveredSum)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var head = teacher.LossHead(LlavaBatch.FromExamples(batch, teacher.Config.Vision, device));
        // the head one vocabulary chunk at a time: the (N, V) logits never exist whole
        var topK = new TopKLogProbs(k);
        var values = ChunkedHeadLoss.Compute(head.Head, topK); // (N, k) log-probs, descending
        using var indices = topK.TakeColumns();                // (N, k) columns, ours to dispose
        var covered = values.logsumexp(-1).clamp_max(LongLivedScalars.DoubleZero); // fp32 rounding can put Σ top-k p a hair above 1
        using var nothingLeft = (-1e4f).ToScalar();
        var tail = (-covered.exp()).log1p().clamp_min(nothingLeft); // log(1 − Σ top-k p); −1e4 stands for "nothing left"
        coveredSum = covered.exp().sum().item<float>();

        var ids = indices.cpu().data<long>().ToArray();
        var lps = values.cpu().data<float>().ToArray();
        var tails = tail.cpu().data<float>().ToArray();
        var subset = teacher.VocabSubset;
        var perRow = Enumerable.Range(0, batch.Count).Select(_ => (Ids: new List<int[]>(), Lps: new List<float[]>(), Tail: new List<float>())).ToArray();
        long[] rows = head.Rows;
        for (int n = 0; n < rows.Length; n++)
        {
            var tokenIds = new int[k];
            for (int j = 0; j < k; j++)
            {
                long index = ids[n * k + j];
                tokenIds[j] = subset is null ? (int)index : subset.TokenIdAt((int)index);
            }
            perRow[rows[n]].Ids.Add(tokenIds);
            perRow[rows[n]].Lps.Add(lps.AsSpan(n * k, k).ToArray());
            perRow[rows[n]].Tail.Add(tails[n]);
        }
        var result = new TopKRow[batch.Count];
        for (int r = 0; r < batch.Count; r++)
        {
            if (perRow[r].Ids.Count != batch[r].SupervisedCount)
                throw new LlavaModException($"row {batch[r].Key}: {perRow[r].Ids.Count} loss positions but {batch[r].SupervisedCount} supervised tokens (is the row longer than the model's maximum length?)");
            result[r] = new TopKRow(batch[r].Key, perRow[r].Ids.ToArray(), perRow[r].Lps.ToArray(), perRow[r].Tail.ToArray());
        }
        return result;
    }
}
