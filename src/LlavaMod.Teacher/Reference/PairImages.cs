using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Preferences;

namespace LlavaMod.Teacher.Reference;

/// <summary>
/// Finds the image bytes of a stored pair: the image file (absolute, or relative to the image root),
/// else, when data shards are given, the shard row whose key, original-image sha256 or original path
/// equals the pair's image key or path (mined pairs keep the shard row key, imported ones the sha256
/// of embedded bytes). Shards are indexed on first use; their image bytes are kept in memory.
/// </summary>
public sealed class PairImages(string? imageRoot, string? shards)
{
    Dictionary<string, byte[]>? _shardImages;

    /// <summary>The pair's image, or null when it has none; throws when it has one that cannot be found.</summary>
    public byte[]? For(PairNeedingReference pair, string db)
    {
        if (pair.ImagePath is null && pair.ImageKey is null) return null;
        if (pair.ImagePath is not null)
        {
            string file = Path.IsPathRooted(pair.ImagePath) || imageRoot is null ? pair.ImagePath : Path.Combine(imageRoot, pair.ImagePath);
            if (File.Exists(file)) return File.ReadAllBytes(file);
        }
        if (shards is not null)
        {
            var index = _shardImages ??= IndexShards(shards);
            foreach (var key in new[] { pair.ImageKey, pair.ImagePath })
                if (key is not null && index.TryGetValue(key, out var bytes)) return bytes;
        }
        throw LlavaModException.ForRow(db, pair.PairId,
            $"image {pair.ImagePath ?? pair.ImageKey} not found (give --image-root for relative paths, or --shards for images stored in data shards)");
    }

    static Dictionary<string, byte[]> IndexShards(string dir)
    {
        var manifest = DatasetManifest.Load(dir);
        var index = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var shard in manifest.Shards)
            foreach (var row in ShardReader.ReadRows(Path.Combine(dir, shard.File)).ToBlockingEnumerable())
            {
                if (row.Image?.Bytes is not { } bytes) continue;
                index.TryAdd(row.Key, bytes);
                if (row.ImageSha256 is not null) index.TryAdd(row.ImageSha256, bytes);
                if (row.Image.Path is not null) index.TryAdd(row.Image.Path, bytes);
            }
        return index;
    }
}
