using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Etl;

/// <summary>
/// `llavamod merge`: joins the outputs of the n workers of a split `shard` job into the dataset a
/// single run makes. Each worker wrote the blocks k with k mod n = its index, de-duplicating within
/// its own blocks; merge checks that the workers ran with the same settings and that every block is
/// there, copies shards into the output folder when it differs, drops duplicates across workers
/// (first occurrence in block order wins, rewriting the shards that held later copies), and writes
/// rejects.jsonl and dataset.json last.
/// </summary>
public static class DatasetMerger
{
    public static async Task<DatasetManifest> MergeAsync(IReadOnlyList<string> workerDirs, string outDir, Action<string>? log = null, CancellationToken ct = default,
        double maxRejectShare = RejectShareCheck.DefaultMaxShare)
    {
        outDir = Path.GetFullPath(outDir);
        var parts = new List<(string Dir, DatasetManifest Manifest)>();
        foreach (var dir in workerDirs.Select(Path.GetFullPath).Distinct())
        {
            var files = Directory.Exists(dir) ? Directory.GetFiles(dir, "worker-*-of-*.json") : [];
            if (files.Length == 0) throw LlavaModException.ForFile(dir, "holds no worker manifest (worker-NNNNN-of-MMMMM.json)");
            foreach (var f in files.Order(StringComparer.Ordinal)) parts.Add((dir, Json.ReadFile<DatasetManifest>(f)));
        }
        var first = parts[0].Manifest;
        int workers = first.Workers ?? 1;
        foreach (var (dir, m) in parts)
        {
            if (m.SettingsFingerprint != first.SettingsFingerprint)
                throw LlavaModException.ForFile(dir, $"worker {m.Worker} ran with other settings than worker {first.Worker} (settings fingerprint {m.SettingsFingerprint} vs {first.SettingsFingerprint})");
            if (m.Workers != workers || m.SourceRows != first.SourceRows)
                throw LlavaModException.ForFile(dir, $"worker {m.Worker} of {m.Workers} saw {m.SourceRows} source rows; worker {first.Worker} of {workers} saw {first.SourceRows}");
        }
        var missing = Enumerable.Range(0, workers).Except(parts.Select(p => p.Manifest.Worker ?? 0)).ToList();
        if (missing.Count > 0) throw new LlavaModException($"worker manifests missing for worker(s) {string.Join(", ", missing)} of {workers}");
        if (parts.Count != workers) throw new LlavaModException($"{parts.Count} worker manifests for {workers} workers (a worker listed twice?)");

        var settings = Json.ReadFile<ShardSettings>(new BlockJournal(parts[0].Dir).SettingsPath);
        Directory.CreateDirectory(outDir);
        var outJournal = new BlockJournal(outDir);
        Json.WriteFileAtomic(outJournal.SettingsPath, settings);

        long blocks = (first.SourceRows + first.BlockRows - 1) / first.BlockRows;
        var seen = new HashSet<UInt128>();
        var records = new List<BlockRecord>();
        for (long b = 0; b < blocks; b++)
        {
            ct.ThrowIfCancellationRequested();
            var (dir, _) = parts.First(p => p.Manifest.Worker == (int)(b % workers));
            var journal = new BlockJournal(dir);
            var record = journal.TryRead(b) ?? throw LlavaModException.ForFile(dir, $"block {b} has no journal entry ({BlockJournal.FolderName}/{BlockJournal.BlockFileName(b)})");
            if (dir != outDir)
                foreach (var shard in record.Shards)
                    File.Copy(Path.Combine(dir, shard.File), Path.Combine(outDir, shard.File), overwrite: true);
            var keys = journal.TryReadKeys(b, record.Shards.Sum(s => s.Rows)) ?? await ReadKeysAsync(outDir, record, first.Kind, ct);
            if (!first.KeepDuplicates)
            {
                var drop = keys.Select(k => !seen.Add(k)).ToArray();
                if (drop.Any(d => d))
                {
                    record = first.Kind == ShardKind.Sft
                        ? await RewriteAsync<ShardRow>(outDir, record, drop, first, ct)
                        : await RewriteAsync<PreferenceShardRow>(outDir, record, drop, first, ct);
                    keys = keys.Where((_, i) => !drop[i]).ToArray();
                }
            }
            outJournal.WriteKeys(b, keys);
            outJournal.Write(record);
            records.Add(record);
        }
        var manifest = settings.ToManifest(first.SourceRows, first.Inputs, records, null, null) with { VocabularySize = first.VocabularySize };
        ShardSettings.WriteRejects(outDir, records);
        RejectShareCheck.Require(manifest, outDir, maxRejectShare, records.SelectMany(r => r.Rejects));
        manifest.Save(outDir);
        log?.Invoke($"merged {workers} workers: {manifest.Shards.Count} shards, {manifest.Rows} rows");
        return manifest;
    }

    /// <summary>Keys of a block's rows computed from its shards (when a worker's key file is missing).</summary>
    static async Task<UInt128[]> ReadKeysAsync(string dir, BlockRecord record, ShardKind kind, CancellationToken ct)
    {
        var keys = new List<UInt128>();
        foreach (var shard in record.Shards)
        {
            string path = Path.Combine(dir, shard.File);
            if (kind == ShardKind.Sft) await foreach (var row in ShardReader.ReadRows(path, ct)) keys.Add(RowProcessor.DedupKeyOf(row));
            else await foreach (var row in ShardReader.ReadPreferenceRows(path, ct)) keys.Add(RowProcessor.DedupKeyOf(row));
        }
        return keys.ToArray();
    }

    /// <summary>Writes the block again without the rows marked in <paramref name="drop"/> (duplicates of earlier workers' rows).</summary>
    static async Task<BlockRecord> RewriteAsync<T>(string dir, BlockRecord record, bool[] drop, DatasetManifest m, CancellationToken ct)
        where T : class, IShardRow, new()
    {
        var kept = new List<T>();
        int index = 0, dropped = 0;
        foreach (var shard in record.Shards)
            await foreach (var row in ShardReader.ReadRows<T>(Path.Combine(dir, shard.File), ct))
            {
                if (drop[index++]) dropped++; else kept.Add(row);
            }

        var stats = new DatasetStatistics
        {
            SourceRows = record.Statistics.SourceRows, Rejected = record.Statistics.Rejected,
            RejectsByReason = record.Statistics.RejectsByReason, DuplicatesDropped = record.Statistics.DuplicatesDropped + dropped,
        };
        foreach (var shard in record.Shards) File.Delete(Path.Combine(dir, shard.File));
        await using var writer = new BlockShardWriter<T>(dir, record.Block, new ShardFormat { RowGroupRows = m.RowGroupRows, RowGroupBytes = m.RowGroupBytes, MaxShardBytes = m.MaxShardBytes });
        foreach (var row in kept) { await writer.AddAsync(row, ct); stats.AddRow(row); }
        return record with { Shards = await writer.CompleteAsync(ct), Statistics = stats };
    }
}
