using LlavaMod.Core;

namespace LlavaMod.LogitCache;

/// <summary>
/// Joins the caches of the workers of a split <c>teacher cache-logits</c> job into the cache one
/// process writes: the same files, byte for byte, and the same logit_cache.json. Refuses caches of
/// another teacher, k, precision, tokenizer or dataset, a missing or unfinished worker, and a file
/// whose sha256 is not the one its worker recorded.
/// </summary>
public static class LogitCacheMerger
{
    public static LogitCacheManifest Merge(IReadOnlyList<string> workerDirs, string outDir, Action<string>? log = null, CancellationToken ct = default)
    {
        var outputs = workerDirs.Select(dir =>
        {
            var manifest = LogitCacheManifest.Load(dir);
            var finished = manifest.Shards.Where(s => File.Exists(Path.Combine(dir, s.File))).Select(s => s.DataShard).ToHashSet();
            return (Dir: dir, Manifest: manifest, Output: new WorkerOutput(dir, manifest.Worker, Settings(manifest), finished));
        }).ToList();
        var plan = WorkerMerge.Plan(outputs.Select(o => o.Output).ToList(), "logit cache");
        MergeOutput.RequireNotAnInput(outDir, workerDirs);

        using var outputLock = OutputLock.ForFolder(outDir);
        AtomicFile.CleanStaleTempFiles(outDir);
        var shards = new List<LogitCacheShard>(plan.Count);
        foreach (var (output, dataShard) in plan)
        {
            ct.ThrowIfCancellationRequested();
            var dir = output.Path;
            var entry = outputs.First(o => o.Dir == dir).Manifest.Shards.First(s => s.DataShard == dataShard);
            MergeOutput.CopyChecked(Path.Combine(dir, entry.File), Path.Combine(outDir, entry.File), entry.Sha256);
            shards.Add(entry);
        }
        var merged = outputs[0].Manifest with { Worker = null, Shards = shards };
        merged.Save(outDir);
        log?.Invoke($"merged {outputs.Count} workers: {shards.Count} cache files, {merged.Tokens:N0} tokens");
        return merged;
    }

    /// <summary>Everything that must be equal across the workers of one job.</summary>
    static string Settings(LogitCacheManifest m) => Json.Serialize(m with { Worker = null, Shards = [] });
}
