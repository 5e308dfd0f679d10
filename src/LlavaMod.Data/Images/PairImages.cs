using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Images;

/// <summary>
/// Where a pair's image is: a data shard row (<see cref="ShardRow"/>; its bytes were copied at load
/// to the scratch file at <see cref="SpillOffset"/>, <see cref="Length"/> bytes) or an image file.
/// </summary>
public sealed record PairImage(ShardImageLocator? ShardRow, string? File, long SpillOffset = 0, int Length = 0);

/// <summary>
/// Finds the images of stored pairs, for the teacher's reference pass and the pd stage alike, so
/// both see the image the student was trained on. With data shards given, the shard row whose key,
/// original-image sha256 or original path equals the pair's image key or path comes first (mined
/// pairs keep the shard row key, imported ones the sha256 of embedded bytes): that is the image as
/// the ETL stored it (e.g. padded to a square), not the raw file. Otherwise, or when no shard row
/// matches, the image file (absolute, or relative to the image root). Only the shard rows the pairs
/// name are indexed, and their images are copied once, a row group at a time, into an unnamed
/// scratch file in <c>spillDir</c>, read back per batch by offset: Parquet decodes whole row groups,
/// which shuffled batches would otherwise decode again and again. Memory holds locators, not images.
/// </summary>
public sealed class PairImages(string? imageRoot, IReadOnlyList<string>? shards, string? spillDir = null) : IDisposable
{
    ImageSpill? _spill;
    bool _located;

    public PairImages(string? imageRoot, string? shards, string? spillDir = null) : this(imageRoot, shards is null ? null : [shards], spillDir) { }

    /// <summary>Names the shard index held when the pairs were located (0 without shards).</summary>
    public int IndexedNames { get; private set; }

    /// <summary>Bytes of shard images in the scratch file (on disk, not in memory).</summary>
    public long SpilledBytes => _spill?.Length ?? 0;

    /// <summary>
    /// Locates every pair's image (null: the pair names none), in the order given. A pair whose image
    /// is neither in the shards nor a file is an error naming it (in <paramref name="db"/>), before any
    /// image is read; a shard that cannot be read is an error naming the file.
    /// </summary>
    public IReadOnlyList<PairImage?> LocateAll(IReadOnlyList<(long PairId, string? ImageKey, string? ImagePath)> pairs, string db)
    {
        if (_located) throw new InvalidOperationException("the pairs' images are located once");
        _located = true;
        ShardImageIndex? index = null;
        if (shards is { Count: > 0 })
        {
            var names = pairs.SelectMany(p => new[] { p.ImageKey, p.ImagePath }).OfType<string>().ToHashSet(StringComparer.Ordinal);
            if (names.Count > 0) index = ShardImageIndex.BuildAsync(shards, names).GetAwaiter().GetResult();
            IndexedNames = index?.Count ?? 0;
        }
        var located = pairs.Select(p => Locate(index, p.PairId, p.ImageKey, p.ImagePath, db)).ToList();
        return CopyShardImages(located);
    }

    PairImage? Locate(ShardImageIndex? index, long pairId, string? imageKey, string? imagePath, string db)
    {
        if (imagePath is null && imageKey is null) return null;
        foreach (var key in new[] { imageKey, imagePath })
            if (index is not null && key is not null && index.TryFind(key, out var row)) return new PairImage(row, null);
        if (imagePath is not null)
        {
            if (ImageRoot.FindFile(imageRoot, imagePath, $"{db}, pair {pairId}") is { } file) return new PairImage(null, file);
        }
        throw LlavaModException.ForRow(db, pairId,
            $"image {imagePath ?? imageKey} not found (give the data shards the pairs were mined from, or an image root for relative paths)");
    }

    /// <summary>Copies each distinct shard image once into the scratch file; pairs sharing an image share its record.</summary>
    List<PairImage?> CopyShardImages(List<PairImage?> located)
    {
        var rows = located.Where(p => p?.ShardRow is not null).Select(p => p!.ShardRow!.Value).ToList();
        if (rows.Count == 0) return located;
        _spill = ImageSpill.Create(spillDir ?? Path.GetTempPath());
        var copied = new Dictionary<ShardImageLocator, PairImage>();
        foreach (var (at, bytes) in ShardImageReader.ReadAllAsync(rows).ToBlockingEnumerable())
            copied[at] = new PairImage(at, null, _spill.Append(bytes), bytes.Length);
        return located.Select(p => p?.ShardRow is { } at ? copied[at] : p).ToList();
    }

    /// <summary>The bytes of each image (null for none), in the order given.</summary>
    public IReadOnlyList<byte[]?> Read(IReadOnlyList<PairImage?> images) => images.Select(image => image switch
    {
        null => null,
        { ShardRow: not null } => (_spill ?? throw new InvalidOperationException("locate the images first")).Read(image.SpillOffset, image.Length),
        { File: { } file } => ReadFile(file),
        _ => throw new ArgumentException("an image with neither a shard row nor a file", nameof(images)),
    }).ToList();

    static byte[] ReadFile(string file)
    {
        try { return File.ReadAllBytes(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw LlavaModException.ForFile(file, $"image cannot be read ({e.Message}); it was found when the pairs were loaded", e);
        }
    }

    public void Dispose() => _spill?.Dispose();
}
