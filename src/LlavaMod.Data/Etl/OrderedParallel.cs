using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace LlavaMod.Data.Etl;

/// <summary>
/// Ordered parallel map: items are processed on up to <c>threads</c> workers at once, and results come
/// out in input order. At most <c>window</c> results wait in the queue, so memory stays bounded whatever
/// the input size (the reader blocks when the writer falls behind).
/// </summary>
public static class OrderedParallel
{
    public static async IAsyncEnumerable<TOut> MapAsync<TIn, TOut>(
        IAsyncEnumerable<TIn> source, Func<TIn, TOut> map, int threads, int window,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var queue = Channel.CreateBounded<Task<TOut>>(new BoundedChannelOptions(Math.Max(window, threads))
        {
            SingleReader = true, SingleWriter = true,
        });
        using var gate = new SemaphoreSlim(threads);
        var producer = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in source.WithCancellation(stop.Token))
                {
                    await gate.WaitAsync(stop.Token);
                    var captured = item;
                    var work = Task.Run(() => { try { return map(captured); } finally { gate.Release(); } });
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
                yield return await work;
            }
        }
        finally
        {
            stop.Cancel();
            try { await producer; } catch (OperationCanceledException) { }
        }
    }
}
