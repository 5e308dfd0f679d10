using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Teacher.Reference;

/// <summary>Where a pair's image is, found when the pairs load: a data shard row, or else an image file.</summary>
public sealed record PairImage(ShardImageLocator? ShardRow, string? File);

/// <summary>
/// Finds the images of stored pairs, for the teacher's reference pass and the pd stage alike, so
/// both see the image the student was trained on. With data shards given, the shard row whose key,
/// original-image sha256 or original path equals the pair's image key or path comes first (mined
/// pairs keep the shard row key, imported ones the sha256 of embedded bytes): that is the image as
/// the ETL stored it (e.g. padded to a square), not the raw file. Otherwise, or when no shard row
/// matches, the image file (absolute, or relative to the image root). Locating keeps only where each
/// image is (<see cref="PairImage"/>); <see cref="Read"/> fetches the bytes when a batch needs them.
/// One consumer at a time (not thread-safe).
/// </summary>
public sealed class PairImages(string? imageRoot, IReadOnlyList<string>? shards)
{
    ShardImageIndex? _index;
    readonly ShardImageReader _reader = new();

    public PairImages(string? imageRoot, string? shards) : this(imageRoot, shards is null ? null : [shards]) { }

    /// <summary>Names the shard index holds (0 before the first lookup, or without shards).</summary>
    public int IndexedNames => _index?.Count ?? 0;

    /// <summary>Image bytes held in the shard row-group cache now.</summary>
    public long CachedBytes => _reader.CachedBytes;

    /// <summary>
    /// Indexes the shards for these image keys and paths only (those of the pairs about to be
    /// located). Without it, the first <see cref="Locate"/> indexes every image row of the shards.
    /// </summary>
    public void IndexFor(IEnumerable<(string? ImageKey, string? ImagePath)> pairs)
    {
        if (shards is not { Count: > 0 }) return;
        var names = pairs.SelectMany(p => new[] { p.ImageKey, p.ImagePath }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (names.Count == 0) return; // nothing to look up
        _index = ShardImageIndex.BuildAsync(shards, names).GetAwaiter().GetResult();
    }

    /// <summary>Where the pair's image is, or null when it has none; throws naming the pair when it has one that cannot be found.</summary>
    public PairImage? Locate(long pairId, string? imageKey, string? imagePath, string db)
    {
        if (imagePath is null && imageKey is null) return null;
        if (shards is { Count: > 0 })
        {
            var index = _index ??= ShardImageIndex.BuildAsync(shards).GetAwaiter().GetResult();
            foreach (var key in new[] { imageKey, imagePath })
                if (key is not null && index.TryFind(key, out var row)) return new PairImage(row, null);
        }
        if (imagePath is not null)
        {
            string file = Path.IsPathRooted(imagePath) || imageRoot is null ? imagePath : Path.Combine(imageRoot, imagePath);
            if (File.Exists(file)) return new PairImage(null, file);
        }
        throw LlavaModException.ForRow(db, pairId,
            $"image {imagePath ?? imageKey} not found (give the data shards the pairs were mined from, or an image root for relative paths)");
    }

    /// <summary>The bytes of each image (null for none), in the order given; shard rows of one row group are read together.</summary>
    public IReadOnlyList<byte[]?> Read(IReadOnlyList<PairImage?> images)
    {
        var result = new byte[]?[images.Count];
        var rows = Enumerable.Range(0, images.Count).Where(i => images[i]?.ShardRow is not null).ToList();
        var bytes = _reader.ReadMany(rows.Select(i => images[i]!.ShardRow!.Value).ToList());
        for (int j = 0; j < rows.Count; j++) result[rows[j]] = bytes[j];
        for (int i = 0; i < images.Count; i++)
            if (images[i]?.File is { } file) result[i] = ReadFile(file);
        return result;
    }

    static byte[] ReadFile(string file)
    {
        try { return File.ReadAllBytes(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw LlavaModException.ForFile(file, $"image cannot be read ({e.Message}); it was found when the pairs were loaded", e);
        }
    }
}
