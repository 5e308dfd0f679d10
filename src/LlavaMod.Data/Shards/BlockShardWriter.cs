namespace LlavaMod.Data.Shards;

/// <summary>
/// Writes the accepted rows of one source block: to "k.parquet", and, when
/// <see cref="ShardFormat.MaxShardBytes"/> is set and a file reaches it (checked at row-group
/// boundaries), on into "k_01.parquet", "k_02.parquet", … The split depends only on the rows, so a
/// rewrite of the same rows (merge, resume) makes the same files.
/// </summary>
public sealed class BlockShardWriter<T> : IAsyncDisposable where T : class, IShardRow
{
    readonly string _dir;
    readonly long _block;
    readonly ShardFormat _format;
    readonly List<WrittenShard> _written = new();
    ShardWriter<T>? _current;

    public BlockShardWriter(string dir, long block, ShardFormat format)
    {
        _dir = dir; _block = block; _format = format;
    }

    /// <summary>File name of part <paramref name="part"/> of block <paramref name="block"/>; sorts in key order.</summary>
    public static string FileName(long block, int part) => part == 0 ? $"{block:D5}.parquet" : $"{block:D5}_{part:D2}.parquet";

    public async Task AddAsync(T row, CancellationToken ct)
    {
        _current ??= new ShardWriter<T>(Path.Combine(_dir, FileName(_block, _written.Count)), _format);
        await _current.AddAsync(row, ct);
        if (_format.MaxShardBytes is long max && _current.BytesWritten >= max) await CloseCurrentAsync(ct);
    }

    /// <summary>Finishes the open part; returns every file of the block (none when no row was added).</summary>
    public async Task<IReadOnlyList<WrittenShard>> CompleteAsync(CancellationToken ct)
    {
        await CloseCurrentAsync(ct);
        return _written;
    }

    async Task CloseCurrentAsync(CancellationToken ct)
    {
        if (_current is null) return;
        _written.Add(await _current.CompleteAsync(ct));
        await _current.DisposeAsync();
        _current = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_current is not null) await _current.DisposeAsync();
    }
}
