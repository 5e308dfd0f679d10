using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Teacher.Reference;

/// <summary>
/// Finds the image bytes of a stored pair, for the teacher's reference pass and the pd stage alike,
/// so both see the image the student was trained on. With data shards given, the shard row whose
/// key, original-image sha256 or original path equals the pair's image key or path comes first
/// (mined pairs keep the shard row key, imported ones the sha256 of embedded bytes): that is the
/// image as the ETL stored it (e.g. padded to a square), not the raw file. Otherwise, or when no
/// shard row matches, the image file (absolute, or relative to the image root). Shards are indexed
/// on first use; their image bytes are kept in memory (one array per image, shared by its pairs).
/// </summary>
public sealed class PairImages(string? imageRoot, IReadOnlyList<string>? shards)
{
    Dictionary<string, byte[]>? _shardImages;

    public PairImages(string? imageRoot, string? shards) : this(imageRoot, shards is null ? null : [shards]) { }

    /// <summary>The pair's image, or null when it has none; throws naming the pair when it has one that cannot be found.</summary>
    public byte[]? For(long pairId, string? imageKey, string? imagePath, string db)
    {
        if (imagePath is null && imageKey is null) return null;
        if (shards is { Count: > 0 })
        {
            var index = _shardImages ??= IndexShards(shards);
            foreach (var key in new[] { imageKey, imagePath })
                if (key is not null && index.TryGetValue(key, out var bytes)) return bytes;
        }
        if (imagePath is not null)
        {
            string file = Path.IsPathRooted(imagePath) || imageRoot is null ? imagePath : Path.Combine(imageRoot, imagePath);
            if (File.Exists(file)) return File.ReadAllBytes(file);
        }
        throw LlavaModException.ForRow(db, pairId,
            $"image {imagePath ?? imageKey} not found (give the data shards the pairs were mined from, or an image root for relative paths)");
    }

    static Dictionary<string, byte[]> IndexShards(IReadOnlyList<string> dirs)
    {
        var index = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var dir in dirs)
        {
            var manifest = DatasetManifest.Load(dir);
            foreach (var shard in manifest.Shards)
                foreach (var row in ShardReader.ReadRows(Path.Combine(dir, shard.File)).ToBlockingEnumerable())
                {
                    if (row.Image?.Bytes is not { } bytes) continue;
                    index.TryAdd(row.Key, bytes);
                    if (row.ImageSha256 is not null) index.TryAdd(row.ImageSha256, bytes);
                    if (row.Image.Path is not null) index.TryAdd(row.Image.Path, bytes);
                }
        }
        return index;
    }
}
