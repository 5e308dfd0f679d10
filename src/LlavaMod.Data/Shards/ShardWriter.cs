using LlavaMod.Core;
using Parquet;
using Parquet.Serialization;

namespace LlavaMod.Data.Shards;

/// <summary>Parquet settings of a dataset's shards.</summary>
public sealed record ShardFormat
{
    /// <summary>Most rows per Parquet row group (rows are buffered until a group is full).</summary>
    public int RowGroupRows { get; init; } = 1000;
    /// <summary>
    /// A row group also closes once its rows reach this many bytes (<see cref="IShardRow.EstimatedBytes"/>,
    /// mostly image bytes), so image shards get groups of ~100 COCO-size rows, as Hugging Face
    /// `datasets` writes them, instead of 150 MB groups; null sizes groups by rows alone. Depends only
    /// on the rows, so threads, resume and worker splits still write the same bytes.
    /// </summary>
    public long? RowGroupBytes { get; init; } = DefaultRowGroupBytes;
    public const long DefaultRowGroupBytes = 16_000_000;
    /// <summary>When set, a block's rows continue in a new file once a file reaches this size (checked per row group).</summary>
    public long? MaxShardBytes { get; init; }
    /// <summary>Recorded in the settings; zstd at the library's "optimal" level.</summary>
    public const string Compression = "zstd/optimal";

    public ParquetOptions ParquetOptions(bool append) => new()
    {
        CompressionMethod = CompressionMethod.Zstd,
        CompressionLevel = System.IO.Compression.CompressionLevel.Optimal,
        Append = append,
        RowGroupSize = RowGroupRows,
    };
}

/// <summary>The finished shard: its file name, row count, size and sha256.</summary>
public sealed record WrittenShard(string File, long Rows, long Bytes, string Sha256);

/// <summary>
/// Writes one shard with Parquet.Net's serializer (struct and list columns that any Parquet reader
/// reads), zstd-compressed, row groups of at most <see cref="ShardFormat.RowGroupRows"/> rows and about
/// <see cref="ShardFormat.RowGroupBytes"/> bytes appended as they fill, so memory holds one row group. The file is written under a temp name, fsynced and
/// renamed on <see cref="CompleteAsync"/>; a killed run leaves only a temp file.
/// </summary>
public sealed class ShardWriter<T> : IAsyncDisposable where T : class, IShardRow
{
    readonly string _path, _temp;
    readonly ShardFormat _format;
    readonly List<T> _pending = new();
    long _pendingBytes;
    readonly Dictionary<string, string> _metadata;
    FileStream? _stream;
    long _rows;
    bool _completed;

    public ShardWriter(string path, ShardFormat format)
    {
        _path = Path.GetFullPath(path);
        _format = format;
        _temp = $"{_path}{AtomicFile.TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";
        _metadata = new() { [HuggingFaceFeatures.MetadataKey] = HuggingFaceFeatures.Json<T>() };
    }

    public long Rows => _rows + _pending.Count;

    /// <summary>Bytes of the row groups written so far (without the footer).</summary>
    public long BytesWritten => _stream?.Length ?? 0;

    public async Task AddAsync(T row, CancellationToken ct = default)
    {
        _pending.Add(row);
        _pendingBytes += row.EstimatedBytes();
        if (_pending.Count >= _format.RowGroupRows || (_format.RowGroupBytes is long max && _pendingBytes >= max)) await FlushRowGroupAsync(ct);
    }

    async Task FlushRowGroupAsync(CancellationToken ct)
    {
        if (_pending.Count == 0) return;
        bool append = _stream is not null;
        _stream ??= new FileStream(_temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        await ParquetSerializer.SerializeAsync(_pending, _stream, _format.ParquetOptions(append), _metadata, ct);
        _rows += _pending.Count;
        _pending.Clear();
        _pendingBytes = 0;
    }

    /// <summary>Writes the last row group, fsyncs, renames into place and hashes the file.</summary>
    public async Task<WrittenShard> CompleteAsync(CancellationToken ct = default)
    {
        await FlushRowGroupAsync(ct);
        if (_stream is null) throw new InvalidOperationException("a shard needs at least one row");
        await _stream.FlushAsync(ct);
        _stream.Flush(flushToDisk: true);
        await _stream.DisposeAsync();
        _stream = null;
        File.Move(_temp, _path, overwrite: true);
        _completed = true;
        return new WrittenShard(Path.GetFileName(_path), _rows, new FileInfo(_path).Length, Hashing.Sha256OfFile(_path));
    }

    public async ValueTask DisposeAsync()
    {
        try { if (_stream is not null) await _stream.DisposeAsync(); }
        catch (IOException) when (!_completed) { } // a full disk fails the buffered flush as well; the error that stopped the write is already on its way
        finally { if (!_completed && File.Exists(_temp)) File.Delete(_temp); }
    }
}
