using LlavaMod.Core;
using Parquet.Serialization;

namespace LlavaMod.Data.Shards;

/// <summary>One problem <see cref="DatasetVerifier"/> found, naming the file.</summary>
public sealed record VerifyProblem(string File, string Problem)
{
    public override string ToString() => $"{File}: {Problem}";
}

/// <summary>
/// `llavamod verify`: checks every shard against dataset.json: present, same size (a truncated file
/// says so), same sha256, a readable Parquet footer with the recorded row count and the kind's
/// columns, the Hugging Face features metadata, and the rejects file against the statistics.
/// dataset.json itself carries a checksum (<see cref="DatasetManifest.Checksum"/>), so an edited
/// manifest is refused when loaded. With <c>deep</c>, every page is decoded and every row checked
/// (<see cref="DeepShardCheck"/>): a shard damaged behind a forged size and sha256 is found too.
/// </summary>
public static class DatasetVerifier
{
    public static async Task<IReadOnlyList<VerifyProblem>> VerifyAsync(string dir, IProgress<string>? progress = null, CancellationToken ct = default, bool deep = false)
    {
        var manifest = DatasetManifest.Load(dir);
        var problems = new List<VerifyProblem>();
        if (manifest.Checksum is null)
            problems.Add(new(DatasetManifest.FileName, "carries no checksum (written by an older llavamod, or edited): its content cannot be trusted"));
        string[] expectedColumns = (manifest.Kind == ShardKind.Sft ? typeof(ShardRow) : typeof(PreferenceShardRow))
            .GetParquetSchema(false).Fields.Select(f => f.Name).ToArray();

        foreach (var shard in manifest.Shards)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(shard.File);
            string path = Path.Combine(dir, shard.File);
            if (!File.Exists(path)) { problems.Add(new(shard.File, "missing")); continue; }
            long size = new FileInfo(path).Length;
            if (size < shard.Bytes) problems.Add(new(shard.File, $"truncated: {size} bytes, the manifest says {shard.Bytes}"));
            else if (size > shard.Bytes) problems.Add(new(shard.File, $"{size} bytes, the manifest says {shard.Bytes} (appended to or replaced)"));
            string sha = Hashing.Sha256OfFile(path);
            if (sha != shard.Sha256) { problems.Add(new(shard.File, $"sha256 is {sha}, the manifest says {shard.Sha256}")); }
            try
            {
                var (rows, metadata, columns) = await ShardReader.ReadFooterAsync(path, ct);
                if (rows != shard.Rows) problems.Add(new(shard.File, $"holds {rows} rows, the manifest says {shard.Rows}"));
                if (!columns.SequenceEqual(expectedColumns))
                    problems.Add(new(shard.File, $"columns [{string.Join(", ", columns)}] are not the {manifest.Kind} schema [{string.Join(", ", expectedColumns)}]"));
                if (!metadata.ContainsKey(HuggingFaceFeatures.MetadataKey))
                    problems.Add(new(shard.File, $"no '{HuggingFaceFeatures.MetadataKey}' features metadata"));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                problems.Add(new(shard.File, $"not a readable Parquet file: {e.Message}"));
                continue;
            }
            if (deep && await DeepShardCheck.CheckAsync(dir, manifest, shard, ct) is { } problem) problems.Add(problem);
        }

        var listed = manifest.Shards.Select(s => s.File).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(dir, "*.parquet").Select(Path.GetFileName).Order(StringComparer.Ordinal))
            if (!listed.Contains(file!)) problems.Add(new(file!, "a shard file the manifest does not list"));

        long shardRows = manifest.Shards.Sum(s => s.Rows);
        if (shardRows != manifest.Statistics.Rows)
            problems.Add(new(DatasetManifest.FileName, $"shards hold {shardRows} rows, the statistics say {manifest.Statistics.Rows}"));
        string rejects = Path.Combine(dir, "rejects.jsonl");
        long rejectLines = File.Exists(rejects) ? File.ReadLines(rejects).LongCount() : 0;
        if (rejectLines != manifest.Statistics.Rejected)
            problems.Add(new("rejects.jsonl", $"{rejectLines} lines, the statistics count {manifest.Statistics.Rejected} rejected rows"));
        return problems;
    }
}
