using LlavaMod.Core;

namespace LlavaMod.LogitCache;

/// <summary>One cache file, aligned with one data shard (same rows, same keys, same order).</summary>
public sealed record LogitCacheShard(string File, string DataShard, long Rows, long Tokens, long Bytes, string Sha256, double MeanCoveredMass);

/// <summary>
/// logit_cache.json: the folder-level record of a teacher pass. Written after every finished
/// shard (so a killed run resumes at the first missing shard) and names the data it belongs to.
/// </summary>
public sealed record LogitCacheManifest
{
    public const string FileName = "logit_cache.json";
    /// <summary>"llavamod-logit-cache/N", N = <see cref="LogitCacheMetadata.CurrentFormatVersion"/> (the shards' codec version).</summary>
    public const string CurrentFormat = "llavamod-logit-cache/2";
    public string Format { get; init; } = CurrentFormat;
    public string ToolVersion { get; init; } = ToolInfo.Version;
    public string TeacherFolder { get; init; } = "";
    public string TeacherFingerprint { get; init; } = "";
    public string TokenizerFingerprint { get; init; } = "";
    public string DataFolder { get; init; } = "";
    /// <summary>The data manifest's checksum: workers of one job must have read the same dataset.json.</summary>
    public string? DataChecksum { get; init; }
    public int K { get; init; }
    public int VocabSize { get; init; }
    public IReadOnlyList<int>? VocabSubset { get; init; }
    /// <summary>Compute precision of the teacher pass (fp32 or bf16 mixed precision).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Set on a worker's output (--worker i --workers n); absent on a whole cache, so a merged cache equals a single run's.</summary>
    public WorkerPart? Worker { get; init; }
    public List<LogitCacheShard> Shards { get; init; } = new();

    public long Tokens => Shards.Sum(s => s.Tokens);
    public long Bytes => Shards.Sum(s => s.Bytes);
    public double BytesPerToken => Tokens == 0 ? 0 : (double)Bytes / Tokens;
    public double MeanCoveredMass => Tokens == 0 ? 0 : Shards.Sum(s => s.MeanCoveredMass * s.Tokens) / Tokens;

    public static LogitCacheManifest Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
            throw LlavaModException.ForFile(dir, $"no {FileName}: not a logit cache (make one with 'llavamod teacher cache-logits')");
        var manifest = Json.ReadFile<LogitCacheManifest>(path);
        if (manifest.Format != CurrentFormat)
            throw LlavaModException.ForFile(path, $"logit cache format '{manifest.Format}' (written by llavamod {manifest.ToolVersion}); this build reads '{CurrentFormat}' only: rebuild the cache with 'llavamod teacher cache-logits'");
        return manifest;
    }

    public void Save(string dir) => Json.WriteFileAtomic(Path.Combine(dir, FileName), this);

    public static string CacheFileFor(string dataShardFile) => Path.GetFileNameWithoutExtension(dataShardFile) + ".logits.parquet";
}

/// <summary>All cache files of a folder opened at once, looked up by data row key.</summary>
public sealed class LogitCacheSet : IAsyncDisposable
{
    readonly List<LogitCacheReader> _readers;
    readonly Dictionary<string, LogitCacheReader> _byKey = new();

    public LogitCacheManifest Manifest { get; }

    LogitCacheSet(LogitCacheManifest manifest, List<LogitCacheReader> readers)
    {
        Manifest = manifest;
        _readers = readers;
        foreach (var reader in readers)
            foreach (var key in reader.Keys)
                _byKey[key] = reader;
    }

    public static LogitCacheSet Open(string dir)
    {
        var manifest = LogitCacheManifest.Load(dir);
        // training reads rows in shuffled order: the readers share one cache of the row groups they read
        var rowGroups = new RowGroupCache(RowGroupCache.DefaultBudgetBytes);
        var readers = manifest.Shards.Select(s => LogitCacheReader.OpenAsync(Path.Combine(dir, s.File), rowGroups: rowGroups).GetAwaiter().GetResult()).ToList();
        return new LogitCacheSet(manifest, readers);
    }

    /// <summary>The cached row of a data row; a clear error when the cache does not cover it.</summary>
    public TopKRow Read(string key) =>
        _byKey.TryGetValue(key, out var reader)
            ? reader.ReadAsync(key).GetAwaiter().GetResult()
            : throw new LlavaModException($"the logit cache has no row '{key}': it was made from other data (cache data folder: {Manifest.DataFolder}); rerun 'llavamod teacher cache-logits' on this data");

    /// <summary>The teacher targets of a batch's rows, aligned to their supervised positions (see <see cref="LogitCacheBatch.Build"/>).</summary>
    public TeacherTargets ReadTargets(IReadOnlyList<CachedRowRequest> rows, int vocabSize, Models.VocabSubset? subset, TorchSharp.torch.Device device) =>
        LogitCacheBatch.Build(rows.Select(r => Read(r.Key)).ToList(), rows, Manifest.K, vocabSize, subset, device);

    public async ValueTask DisposeAsync()
    {
        foreach (var reader in _readers) await reader.DisposeAsync();
    }
}
