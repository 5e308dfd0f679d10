using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// A value per position computed from the lm head's logits one vocabulary chunk at a time, for
/// <see cref="ChunkedHeadLoss"/>. The forward hands every chunk of fp32 logits z (N, C), columns
/// [start, start + C), to <see cref="Accumulate"/>, which keeps only per-position statistics (a log-sum-exp per
/// chunk, the target's logit, teacher-weighted sums); <see cref="Finish"/> turns them into the values (N). The backward
/// recomputes each chunk and asks <see cref="Gradient"/> for ∂value_i/∂z_iv · g_i (N, C), from the same statistics.
/// <para>
/// One instance serves one forward and its backward. Statistics that must outlive a chunk go through
/// <see cref="Keep"/>; they are released after the backward (or right after a forward that records no graph).
/// </para>
/// <para>
/// Statistics are made in <see cref="Begin"/>, before the first chunk, and written in place per chunk
/// (<see cref="PerChunk"/>, <c>add_</c>): a tensor kept from inside the loop is a small block allocated while the
/// chunk's 4 MB logits are live, and glibc places it in the hole the previous chunk's logits left, so that hole no
/// longer fits the next chunk's logits, which then come from fresh memory. Kept per chunk, the 149 chunks of the real
/// vocabulary grew the process by ~600 MB per forward (docs/benchmarks.md, "Where the head's memory went").
/// </para>
/// </summary>
public abstract class VocabularyChunkLoss
{
    readonly List<Tensor> _kept = new();
    bool _inChunkLoop;

    /// <summary>Starts a forward pass: <see cref="Begin"/>, after which <see cref="Keep"/> refuses until <see cref="FinishPass"/>.</summary>
    internal void BeginPass(long positions, int chunks, Device device)
    {
        Begin(positions, chunks, device);
        _inChunkLoop = true;
    }

    internal Tensor FinishPass()
    {
        _inChunkLoop = false;
        return Finish();
    }

    /// <summary>The teacher's head at the same positions and columns, when the loss compares with a teacher's logits
    /// (computed chunk by chunk beside the student's, without gradients).</summary>
    public virtual HeadInputs? Teacher => null;

    /// <summary>Forward, once before the first chunk: the pass covers <paramref name="positions"/> rows in
    /// <paramref name="chunks"/> chunks on <paramref name="device"/>. Makes the statistics the chunks fill in.</summary>
    protected internal abstract void Begin(long positions, int chunks, Device device);

    /// <summary>Forward, once per chunk, autograd off: <paramref name="logits"/> (N, C) fp32 of columns
    /// [<paramref name="start"/>, start + C), the pass's chunk number <paramref name="chunk"/>;
    /// <paramref name="teacherLogits"/> (N, C) fp32 when there is a teacher.</summary>
    protected internal abstract void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk);

    /// <summary>After the last chunk: the values (N), or (N, m) for m values per position.</summary>
    protected internal abstract Tensor Finish();

    /// <summary>Backward, once per chunk: Σ_j ∂value_ij/∂logits_iv × <paramref name="upstream"/>_ij, (N, C) fp32; the upstream gradient has the values' shape.</summary>
    protected internal abstract Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream);

    /// <summary>Keeps <paramref name="t"/> past the dispose scope it was made in, until the backward is done.</summary>
    protected Tensor Keep(Tensor t)
    {
        if (_inChunkLoop)
            throw new InvalidOperationException($"{GetType().Name} keeps a tensor from inside the chunk loop: make its statistics in Begin and write them in place (see VocabularyChunkLoss)");
        var kept = t.DetachFromDisposeScope();
        _kept.Add(kept);
        return kept;
    }

    /// <summary>A kept (N, chunks) fp32 statistic, one column per chunk, made in <see cref="Begin"/>.</summary>
    protected Tensor PerChunk(long positions, int chunks, Device device) =>
        Keep(empty(positions, chunks, dtype: ScalarType.Float32, device: device));

    /// <summary>A kept (N) fp32 running sum starting at zero, made in <see cref="Begin"/>.</summary>
    protected Tensor RunningSum(long positions, Device device) =>
        Keep(zeros(positions, dtype: ScalarType.Float32, device: device));

    internal virtual void Release()
    {
        foreach (var t in _kept) t.Dispose();
        _kept.Clear();
    }

    /// <summary>log Σ over all columns, from one log-sum-exp per chunk (N, chunks): (N).</summary>
    protected static Tensor LogSumExpOverChunks(Tensor perChunk) =>
        perChunk.shape[1] == 1 ? perChunk.select(1, 0).alias() : perChunk.logsumexp(1);

    /// <summary>Where column ids (N, k) fall in the chunk [start, start + count): their chunk-local index (N, k), clamped
    /// into the chunk, and whether they are in it (N, k) as 0/1 in <paramref name="dtype"/>.</summary>
    protected static (Tensor Local, Tensor Inside) Locate(Tensor ids, long start, long count, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var end = count.ToScalar();
        using var last = (count - 1).ToScalar();
        var local = ids.SubScalar(start);
        var inside = local.ge(LongLivedScalars.IntZero).logical_and(local.lt(end));
        return (local.clamp(LongLivedScalars.IntZero, last).MoveToOuterDisposeScope(), inside.to_type(dtype).MoveToOuterDisposeScope());
    }
}
