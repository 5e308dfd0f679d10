namespace LlavaMod.LogitCache;

/// <summary>
/// The row groups the readers of one logit cache have read, most recently used kept, within a byte budget the readers
/// share. Training reads a batch's rows in shuffled order, so consecutive rows are rarely in the same row group: with
/// only the last group kept, every row cost a row group's read and decompression (the demo's mimic step spent 17 ms of
/// its 80 on that; docs/benchmarks.md). The group read last is always kept, even one larger than the whole budget (a
/// reader going through a file row by row reads each group once); the others are dropped least recently used first
/// while the total is over the budget. Thread-safe.
/// </summary>
public sealed class RowGroupCache(long budgetBytes)
{
    /// <summary>The budget a cache opened for training gets: enough for the demo's whole cache; on a large cache, the
    /// groups a few hundred batches touch.</summary>
    public const long DefaultBudgetBytes = 256L << 20;

    readonly LinkedList<Entry> _order = new(); // most recently used first
    readonly Dictionary<(object Reader, int Group), LinkedListNode<Entry>> _index = new();
    long _bytes;

    sealed record Entry(object Reader, int Group, object Rows, long Bytes);

    public long BudgetBytes { get; } = budgetBytes > 0 ? budgetBytes : throw new ArgumentOutOfRangeException(nameof(budgetBytes), budgetBytes, "the budget must be positive");

    /// <summary>Bytes held now.</summary>
    public long Bytes { get { lock (_order) return _bytes; } }

    /// <summary>Row groups held now.</summary>
    public int Groups { get { lock (_order) return _order.Count; } }

    internal bool TryGet<T>(object reader, int group, out T rows) where T : class
    {
        lock (_order)
        {
            if (_index.TryGetValue((reader, group), out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                rows = (T)node.Value.Rows;
                return true;
            }
        }
        rows = null!;
        return false;
    }

    /// <summary>Keeps <paramref name="rows"/> (about <paramref name="bytes"/>), dropping the least recently used other
    /// groups while the total is over the budget.</summary>
    internal void Add(object reader, int group, object rows, long bytes)
    {
        lock (_order)
        {
            if (_index.ContainsKey((reader, group))) return;
            var added = _order.AddFirst(new Entry(reader, group, rows, bytes));
            _index[(reader, group)] = added;
            _bytes += bytes;
            while (_bytes > BudgetBytes && _order.Last is { } last && last != added)
            {
                _order.RemoveLast();
                _index.Remove((last.Value.Reader, last.Value.Group));
                _bytes -= last.Value.Bytes;
            }
        }
    }

    /// <summary>Forgets the groups of <paramref name="reader"/> (when it is disposed).</summary>
    internal void Forget(object reader)
    {
        lock (_order)
        {
            for (var node = _order.First; node is not null;)
            {
                var next = node.Next;
                if (ReferenceEquals(node.Value.Reader, reader))
                {
                    _order.Remove(node);
                    _index.Remove((reader, node.Value.Group));
                    _bytes -= node.Value.Bytes;
                }
                node = next;
            }
        }
    }
}
