using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Gradients that a custom autograd function's backward hands to the engine must outlive the backward: TorchSharp's
/// native side takes them after the managed method returns. The functions (<see cref="CheckpointedDecoderLayer"/>,
/// <see cref="ChunkedHeadLoss"/>, <see cref="EmbeddingLookup"/>) park them here, and the next such forward or backward
/// on the thread releases them (the engine has its own references by then) instead of leaving them to the finalizer.
/// </summary>
internal static class HandedOverGradients
{
    [ThreadStatic] static List<Tensor>? _parked;

    /// <summary>Disposes what the last backward on this thread handed over.</summary>
    public static void Release()
    {
        if (_parked is null) return;
        foreach (var grad in _parked) grad.Dispose();
        _parked = null;
    }

    /// <summary>Parks <paramref name="grads"/> (detached from any dispose scope; nulls and undefined ones skipped) until the next <see cref="Release"/>.</summary>
    public static void Park(IEnumerable<Tensor?> grads)
    {
        Release();
        _parked = grads.Where(g => g is not null && !g.IsInvalid).Select(g => g!.DetachFromDisposeScope()).ToList();
    }
}
