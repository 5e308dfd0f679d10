using LlavaMod.Core;
using Parquet;

namespace LlavaMod.Data.Shards;

/// <summary>
/// Reads the image bytes of shard rows found by <see cref="ShardImageIndex"/>. Parquet decodes a
/// column a row group at a time, so a read takes the image column of each row group it needs once
/// (a batch's rows grouped by row group) and keeps only the last row group read, to serve the next
/// rows of that group: memory holds at most one row group of images besides what callers keep.
/// One consumer at a time (not thread-safe).
/// </summary>
public sealed class ShardImageReader
{
    (string File, int RowGroup, byte[]?[] Bytes)? _cached;

    /// <summary>Image bytes the cache holds now (the last row group read).</summary>
    public long CachedBytes => _cached?.Bytes.Sum(b => (long)(b?.Length ?? 0)) ?? 0;

    /// <summary>The image bytes of one row.</summary>
    public byte[] Read(ShardImageLocator at) => ReadMany([at])[0];

    /// <summary>The image bytes of each row, in the order given; each row group is decoded once.</summary>
    public IReadOnlyList<byte[]> ReadMany(IReadOnlyList<ShardImageLocator> rows, CancellationToken ct = default) =>
        ReadManyAsync(rows, ct).GetAwaiter().GetResult();

    async Task<IReadOnlyList<byte[]>> ReadManyAsync(IReadOnlyList<ShardImageLocator> rows, CancellationToken ct)
    {
        var result = new byte[rows.Count][];
        // The cached group first, so a batch that starts in it does not evict it before using it.
        var groups = rows.Select((at, i) => (at, i)).GroupBy(r => (r.at.File, r.at.RowGroup))
            .OrderBy(g => _cached is { } c && c.File == g.Key.File && c.RowGroup == g.Key.RowGroup ? 0 : 1);
        foreach (var group in groups)
        {
            var bytes = await RowGroupAsync(group.Key.File, group.Key.RowGroup, ct);
            foreach (var (at, i) in group)
            {
                if (at.Row < 0 || at.Row >= bytes.Length)
                    throw LlavaModException.ForFile(at.File, $"row group {at.RowGroup} has {bytes.Length} rows, not row {at.Row}: the shard changed since it was indexed");
                result[i] = bytes[at.Row] ?? throw LlavaModException.ForFile(at.File,
                    $"row group {at.RowGroup}, row {at.Row} stores no image bytes: the shard changed since it was indexed");
            }
        }
        return result;
    }

    async Task<byte[]?[]> RowGroupAsync(string file, int rowGroup, CancellationToken ct)
    {
        if (_cached is { } c && c.File == file && c.RowGroup == rowGroup) return c.Bytes;
        _cached = null; // free the previous group before decoding the next
        await using var stream = ShardReader.OpenRead(file);
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct);
            if (rowGroup >= reader.RowGroupCount)
                throw LlavaModException.ForFile(file, $"has {reader.RowGroupCount} row groups, not row group {rowGroup}: the shard changed since it was indexed");
            var field = ShardImageIndex.Column(reader, ImageColumns.Bytes, file);
            using var rg = reader.OpenRowGroupReader(rowGroup);
            var bytes = new byte[]?[checked((int)rg.RowCount)];
            await rg.ReadAsync(field, bytes.AsMemory(), cancellationToken: ct);
            _cached = (file, rowGroup, bytes);
            return bytes;
        }
        catch (Exception e) when (e is not LlavaModException and not OperationCanceledException)
        {
            throw ShardImageIndex.Unreadable(file, e, $"row group {rowGroup}");
        }
    }
}
