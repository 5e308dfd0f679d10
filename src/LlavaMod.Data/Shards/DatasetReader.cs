using System.Runtime.CompilerServices;

namespace LlavaMod.Data.Shards;

/// <summary>Reads a whole sharded dataset (dataset.json + shards) in key order, for the trainer and the teacher.</summary>
public static class DatasetReader
{
    /// <summary>All supervised rows of the dataset in DIR, shard by shard.</summary>
    public static async IAsyncEnumerable<ShardRow> EnumerateRows(string dir, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var manifest = Require(dir, ShardKind.Sft);
        foreach (var shard in manifest.Shards)
            await foreach (var row in ShardReader.ReadRows(Path.Combine(dir, shard.File), ct))
                yield return row;
    }

    /// <summary>All preference rows of the dataset in DIR, shard by shard.</summary>
    public static async IAsyncEnumerable<PreferenceShardRow> EnumeratePreferenceRows(string dir, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var manifest = Require(dir, ShardKind.Preference);
        foreach (var shard in manifest.Shards)
            await foreach (var row in ShardReader.ReadPreferenceRows(Path.Combine(dir, shard.File), ct))
                yield return row;
    }

    /// <summary>Per shard (manifest order), the token count of each row; images and ids are not read.</summary>
    public static async Task<IReadOnlyList<int[]>> TokenCountsAsync(string dir, CancellationToken ct = default)
    {
        var result = new List<int[]>();
        foreach (var path in ShardPaths(dir)) result.Add(await ShardReader.ReadTokenCountsAsync(path, ct));
        return result;
    }

    /// <summary>Full paths of the shard files, in order (for readers that split work by shard).</summary>
    public static IReadOnlyList<string> ShardPaths(string dir) =>
        DatasetManifest.Load(dir).Shards.Select(s => Path.Combine(dir, s.File)).ToList();

    static DatasetManifest Require(string dir, ShardKind kind)
    {
        var manifest = DatasetManifest.Load(dir);
        if (manifest.Kind != kind)
            throw Core.LlavaModException.ForFile(dir, $"holds {manifest.Kind} rows, not {kind} rows");
        return manifest;
    }
}
