using LlavaMod.Core;
using Parquet;
using Parquet.Schema;

namespace LlavaMod.Data.Shards;

/// <summary>Where one shard row's image lies: the shard file, the row group and the row within it.</summary>
public readonly record struct ShardImageLocator(string File, int RowGroup, int Row);

/// <summary>
/// Finds shard rows that hold an image by name: the row key, the sha256 of the original image or its
/// original path, each naming the first row (dataset folder order, then shard and row order) that has
/// it. Building reads only the key, image_sha256 and image.path columns (and the image bytes column
/// of a row group only when its statistics do not rule out rows without an image), and keeps
/// locators, never image bytes: read those with <see cref="ShardImageReader"/>.
/// </summary>
public sealed class ShardImageIndex
{
    readonly Dictionary<string, ShardImageLocator> _byName;

    ShardImageIndex(Dictionary<string, ShardImageLocator> byName) => _byName = byName;

    /// <summary>Names indexed (a row counts once per distinct name it has).</summary>
    public int Count => _byName.Count;

    /// <summary>The row whose key, image sha256 or image path is <paramref name="name"/>, if one holds an image.</summary>
    public bool TryFind(string name, out ShardImageLocator at) => _byName.TryGetValue(name, out at);

    /// <summary>
    /// Indexes the shards of <paramref name="datasetDirs"/>. With <paramref name="names"/>, only those
    /// names are kept (what the caller will look up); without, every row's names are.
    /// </summary>
    public static async Task<ShardImageIndex> BuildAsync(IReadOnlyList<string> datasetDirs, IReadOnlySet<string>? names = null, CancellationToken ct = default)
    {
        var byName = new Dictionary<string, ShardImageLocator>(StringComparer.Ordinal);
        foreach (var dir in datasetDirs)
            foreach (var shard in DatasetManifest.Load(dir).Shards)
                await IndexShardAsync(Path.Combine(dir, shard.File), names, byName, ct);
        return new ShardImageIndex(byName);
    }

    static async Task IndexShardAsync(string file, IReadOnlySet<string>? names, Dictionary<string, ShardImageLocator> byName, CancellationToken ct)
    {
        await using var stream = ShardReader.OpenRead(file);
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct);
            DataField key = Column(reader, ImageColumns.Key, file), sha = Column(reader, ImageColumns.Sha256, file);
            DataField path = Column(reader, ImageColumns.Path, file), bytes = Column(reader, ImageColumns.Bytes, file);
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var rg = reader.OpenRowGroupReader(g);
                int n = checked((int)rg.RowCount);
                var keys = new string?[n]; var shas = new string?[n]; var paths = new string?[n];
                await rg.ReadAsync(key, keys.AsMemory(), cancellationToken: ct);
                await rg.ReadAsync(sha, shas.AsMemory(), cancellationToken: ct);
                await rg.ReadAsync(path, paths.AsMemory(), cancellationToken: ct);
                bool Wanted(int i) => names is null || Named(keys[i], names) || Named(shas[i], names) || Named(paths[i], names);
                var rows = Enumerable.Range(0, n).Where(Wanted).ToList();
                if (rows.Count == 0) continue;
                bool[]? hasImage = await RowsWithImageAsync(rg, bytes, n, ct);
                foreach (int i in rows.Where(i => hasImage is null || hasImage[i]))
                    foreach (var name in new[] { keys[i], shas[i], paths[i] })
                        if (name is not null && (names is null || names.Contains(name)))
                            byName.TryAdd(name, new ShardImageLocator(file, g, i));
            }
        }
        catch (Exception e) when (e is not LlavaModException and not OperationCanceledException)
        {
            throw Unreadable(file, e);
        }
    }

    static bool Named(string? value, IReadOnlySet<string> names) => value is not null && names.Contains(value);

    /// <summary>Which rows of the group store image bytes; null when the column's statistics say all do (nothing read).</summary>
    static async Task<bool[]?> RowsWithImageAsync(ParquetRowGroupReader rg, DataField bytes, int n, CancellationToken ct)
    {
        if (rg.GetStatistics(bytes)?.NullCount == 0) return null;
        var values = new byte[]?[n];
        await rg.ReadAsync(bytes, values.AsMemory(), cancellationToken: ct);
        return values.Select(v => v is not null).ToArray();
    }

    internal static DataField Column(ParquetReader reader, string[] path, string file) =>
        reader.Schema.DataFields.FirstOrDefault(f => f.Path.ToList().SequenceEqual(path))
        ?? throw LlavaModException.ForFile(file, $"has no '{string.Join('.', path)}' column: not a data shard of this format");

    internal static LlavaModException Unreadable(string file, Exception e, string? where = null) =>
        LlavaModException.ForFile(file, $"not a readable shard{(where is null ? "" : $" ({where})")}: the file is truncated or corrupt, or not Parquet " +
            $"({e.GetType().Name}: {e.Message}); check it with 'llavamod verify' and rebuild it with 'llavamod shard'", e);
}

/// <summary>Parquet column paths of the shard schema that image lookup reads.</summary>
static class ImageColumns
{
    public static readonly string[] Key = ["key"], Sha256 = ["image_sha256"], Path = ["image", "path"], Bytes = ["image", "bytes"];
}
