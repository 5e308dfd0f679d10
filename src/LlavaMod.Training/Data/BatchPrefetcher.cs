using LlavaMod.Data.Text;
using System.Collections.Concurrent;
using LlavaMod.Models;

namespace LlavaMod.Training.Data;

/// <summary>
/// Prepares the next batches on a worker thread while the current step runs: the batch stream is
/// read (shards, plans) and every image is decoded and turned into CLIP pixel values there, so the
/// step only stacks them (<see cref="TrainingBatch.Pixels"/>). The batches and their
/// order are exactly the source's; an error on the worker (a corrupt image) surfaces in the
/// consumer at that batch. Pixel tensors of a batch are freed when the consumer moves past it or
/// stops early.
/// </summary>
public static class BatchPrefetcher
{
    public static IEnumerable<(TrainingPosition Position, TrainingBatch Batch)> Ahead(
        IEnumerable<(TrainingPosition Position, TrainingBatch Batch)> source, ClipVisionConfig vision, int depth = 2)
    {
        using var stop = new CancellationTokenSource();
        using var queue = new BlockingCollection<(TrainingPosition Position, TrainingBatch Batch)>(Math.Max(1, depth));
        var producer = Task.Run(() =>
        {
            try
            {
                foreach (var (position, batch) in source)
                {
                    var prepared = batch with
                    {
                        Pixels = batch.Sequences.Select(e => e.HasImage && e.ImageBytes is not null
                            ? ClipImageProcessor.FromEncoded(e.ImageBytes, e.Key, vision) : null).ToList(), // (3, S, S) each
                    };
                    try { queue.Add((position, prepared), stop.Token); }
                    catch (OperationCanceledException) { Free(prepared); return; }
                }
            }
            finally { queue.CompleteAdding(); }
        });
        TrainingBatch? current = null;
        try
        {
            foreach (var item in queue.GetConsumingEnumerable())
            {
                if (current is not null) Free(current);
                current = item.Batch;
                yield return item;
            }
            producer.GetAwaiter().GetResult(); // the worker's error, if it stopped on one
        }
        finally
        {
            if (current is not null) Free(current);
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { } // already reported above, or we are unwinding
            while (queue.TryTake(out var left)) Free(left.Batch);
        }
    }

    static void Free(TrainingBatch batch)
    {
        foreach (var pixels in batch.Pixels ?? []) pixels?.Dispose();
    }
}
