using System.Runtime.CompilerServices;
using LlavaMod.Core;
using Parquet;

namespace LlavaMod.Data.Shards;

/// <summary>
/// Reads the image bytes of shard rows found by <see cref="ShardImageIndex"/>. Parquet decodes a
/// column a row group at a time, so rows are visited in file and row-group order and each row
/// group's image column is decoded once; only that one row group's images are held at a time.
/// </summary>
public static class ShardImageReader
{
    /// <summary>
    /// The image bytes of each distinct row, ordered by file, row group and row (not the order
    /// given). A row without bytes, a missing row group or a file that cannot be read is an error
    /// naming the file.
    /// </summary>
    public static async IAsyncEnumerable<(ShardImageLocator At, byte[] Bytes)> ReadAllAsync(
        IEnumerable<ShardImageLocator> rows, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var file in rows.Distinct().GroupBy(r => r.File).OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            await using var stream = ShardReader.OpenRead(file.Key);
            await using var reader = await Guard(file.Key, null, () => ParquetReader.CreateAsync(stream, cancellationToken: ct));
            foreach (var group in file.GroupBy(r => r.RowGroup).OrderBy(g => g.Key))
            {
                var bytes = await Guard(file.Key, group.Key, () => RowGroupAsync(reader, file.Key, group.Key, ct));
                foreach (var at in group.OrderBy(r => r.Row))
                {
                    if (at.Row < 0 || at.Row >= bytes.Length)
                        throw LlavaModException.ForFile(at.File, $"row group {at.RowGroup} has {bytes.Length} rows, not row {at.Row}: the shard changed since it was indexed");
                    yield return (at, bytes[at.Row] ?? throw LlavaModException.ForFile(at.File,
                        $"row group {at.RowGroup}, row {at.Row} stores no image bytes: the shard changed since it was indexed"));
                }
            }
        }
    }

    static async Task<byte[]?[]> RowGroupAsync(ParquetReader reader, string file, int rowGroup, CancellationToken ct)
    {
        if (rowGroup < 0 || rowGroup >= reader.RowGroupCount)
            throw LlavaModException.ForFile(file, $"has {reader.RowGroupCount} row groups, not row group {rowGroup}: the shard changed since it was indexed");
        var field = ShardImageIndex.Column(reader, ImageColumns.Bytes, file);
        using var rg = reader.OpenRowGroupReader(rowGroup);
        var bytes = new byte[]?[checked((int)rg.RowCount)];
        await rg.ReadAsync(field, bytes.AsMemory(), cancellationToken: ct);
        return bytes;
    }

    /// <summary>Parquet's own exceptions (a truncated or corrupt file) as an error naming the file.</summary>
    static async Task<T> Guard<T>(string file, int? rowGroup, Func<Task<T>> read)
    {
        try { return await read(); }
        catch (Exception e) when (e is not LlavaModException and not OperationCanceledException)
        {
            throw ShardImageIndex.Unreadable(file, e, rowGroup is null ? null : $"row group {rowGroup}");
        }
    }
}
