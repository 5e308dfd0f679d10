namespace LlavaMod.Data.Images;

/// <summary>
/// Bounds the memory of the images being decoded at once across all threads of one
/// <see cref="ImageProcessor"/>: each decode first takes its estimate (from the header) and gives it
/// back when done, waiting while the budget is spent. An image larger than the whole budget still
/// runs, alone, so nothing waits forever. With --threads 16 and images near the pixel limit this keeps
/// the decoders to the budget instead of 16 × the largest image.
/// </summary>
public sealed class DecodeBudget(long bytes)
{
    readonly object _gate = new();
    long _used;

    public long Bytes { get; } = bytes > 0 ? bytes : throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "must be positive");

    /// <summary>Bytes taken now (for tests and diagnostics).</summary>
    public long InUse { get { lock (_gate) return _used; } }

    /// <summary>Threads waiting for room (for tests and diagnostics).</summary>
    public int Waiting { get { lock (_gate) return _waiting; } }
    int _waiting;

    /// <summary>Takes <paramref name="amount"/> bytes, waiting until they fit (or nothing else is taken); dispose to give them back.</summary>
    public IDisposable Take(long amount)
    {
        lock (_gate)
        {
            _waiting++;
            while (_used > 0 && _used + amount > Bytes) Monitor.Wait(_gate);
            _waiting--;
            _used += amount;
        }
        return new Lease(this, amount);
    }

    void Give(long amount)
    {
        lock (_gate)
        {
            _used -= amount;
            Monitor.PulseAll(_gate);
        }
    }

    sealed class Lease(DecodeBudget budget, long amount) : IDisposable
    {
        int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) budget.Give(amount); }
    }
}
