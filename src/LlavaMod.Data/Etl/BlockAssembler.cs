using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Etl;

/// <summary>
/// The sequential end of the pipeline: takes processed rows in source order, drops exact duplicates
/// (first occurrence wins), writes each source block's accepted rows to its shard, and journals the
/// block when it is complete.
/// </summary>
public interface IBlockAssembler : IAsyncDisposable
{
    DatasetStatistics Totals { get; }
    int ShardsWritten { get; }
    Task AddAsync(RowOutcome outcome, CancellationToken ct);
    Task FinishBlockAsync(CancellationToken ct);
}

/// <inheritdoc cref="IBlockAssembler"/>
public sealed class BlockAssembler<T> : IBlockAssembler where T : class, IShardRow
{
    readonly ShardJobOptions _options;
    readonly BlockJournal _journal;
    readonly HashSet<UInt128> _seen;
    readonly Action<BlockRecord>? _finished;
    long _block = -1, _sourceRows;
    BlockShardWriter<T>? _writer;
    DatasetStatistics _stats = new();
    List<RejectRecord> _rejects = new();
    List<UInt128> _keys = new();

    public BlockAssembler(ShardJobOptions options, BlockJournal journal, HashSet<UInt128> seen, Action<BlockRecord>? finished)
    {
        _options = options; _journal = journal; _seen = seen; _finished = finished;
    }

    public DatasetStatistics Totals { get; } = new();
    public int ShardsWritten { get; private set; }

    public async Task AddAsync(RowOutcome outcome, CancellationToken ct)
    {
        long block = outcome.SourceRow / _options.BlockRows;
        if (block != _block)
        {
            await FinishBlockAsync(ct);
            _block = block;
        }
        _sourceRows++;
        if (outcome.Reject is { } reject)
        {
            _stats.AddReject(reject.Reason);
            _rejects.Add(reject);
            return;
        }
        if (!_options.KeepDuplicates && !_seen.Add(outcome.DedupKey))
        {
            _stats.DuplicatesDropped++;
            return;
        }
        _writer ??= new BlockShardWriter<T>(_options.OutputDir, _block, _options.Format);
        await _writer.AddAsync((T)outcome.Row!, ct);
        _stats.AddRow(outcome.Row!);
        _keys.Add(outcome.DedupKey);
    }

    /// <summary>Completes the open block's shard (if any row was accepted) and journals the block.</summary>
    public async Task FinishBlockAsync(CancellationToken ct)
    {
        if (_block < 0) return;
        IReadOnlyList<WrittenShard> shards = [];
        if (_writer is not null)
        {
            shards = await _writer.CompleteAsync(ct);
            await _writer.DisposeAsync();
            _writer = null;
            ShardsWritten += shards.Count;
        }
        _stats.SourceRows = _sourceRows;
        var record = new BlockRecord(_block, _block * _options.BlockRows, _sourceRows, shards, _stats, _rejects);
        _journal.WriteKeys(_block, _keys);
        _journal.Write(record);
        Totals.Add(_stats);
        _finished?.Invoke(record);
        _block = -1; _sourceRows = 0; _stats = new(); _rejects = new(); _keys = new();
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null) await _writer.DisposeAsync();
    }
}
