using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace LlavaMod.Data.Etl;

/// <summary>
/// Ordered parallel map: items are processed on up to <c>threads</c> workers at once, and results come
/// out in input order. At most <c>window</c> results wait in the queue, and, given a size for each result, no new
/// item starts while the finished results not yet taken hold more than <c>maxWaitingBytes</c>: memory stays bounded
/// whatever the input size and however large its rows (the reader blocks when the writer falls behind). The bytes
/// waiting are then at most <c>maxWaitingBytes</c> plus the results of the <c>threads</c> items in flight.
/// </summary>
public static class OrderedParallel
{
    public static async IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(
        IAsyncEnumerable<TIn> source, Func<TIn, TOut> map, int threads, int window,
        [EnumeratorCancellation] CancellationToken ct = default, Func<TOut, long>? bytesOf = null, long maxWaitingBytes = long.MaxValue)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads));
        if (maxWaitingBytes < 0) throw new ArgumentOutOfRangeException(nameof(maxWaitingBytes));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var queue = Channel.CreateBounded<Task<TOut>>(new BoundedChannelOptions(Math.Max(window, threads))
        {
            SingleReader = true, SingleWriter = true,
        });
        using var gate = new SemaphoreSlim(threads);
        using var taken = new SemaphoreSlim(0, 1); // signalled when the consumer takes a result
        long waiting = 0; // bytes of finished results not yet taken
        var producer = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in source.WithCancellation(stop.Token))
                {
                    await gate.WaitAsync(stop.Token);
                    // the oldest result is finished or in flight, so the consumer keeps taking and this wait ends
                    while (Interlocked.Read(ref waiting) > maxWaitingBytes) await taken.WaitAsync(stop.Token);
                    var captured = item;
                    var work = Task.Run(() =>
                    {
                        try
                        {
                            var result = map(captured);
                            if (bytesOf is not null) Interlocked.Add(ref waiting, bytesOf(result));
                            return result;
                        }
                        finally { gate.Release(); }
                    });
                    await queue.Writer.WriteAsync(work, stop.Token);
                }
                queue.Writer.Complete();
            }
            catch (Exception e) { queue.Writer.TryComplete(e); }
        }, CancellationToken.None);

        try
        {
            await foreach (var work in queue.Reader.ReadAllAsync(CancellationToken.None))
            {
                ct.ThrowIfCancellationRequested();
                var result = await work;
                if (bytesOf is not null)
                {
                    Interlocked.Add(ref waiting, -bytesOf(result));
                    if (taken.CurrentCount == 0) { try { taken.Release(); } catch (SemaphoreFullException) { } }
                }
                yield return result;
            }
        }
        finally
        {
            stop.Cancel();
            try { await producer; } catch (OperationCanceledException) { }
        }
    }
}
