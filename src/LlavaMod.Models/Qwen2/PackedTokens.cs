using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// The real (non-padding) positions of a padded batch, flattened row-major (b·T + t). The decoder runs its per-token
/// blocks (norms, q/k/v/o projections, MLP) on these rows only and lays them out as (B, T, ·) for attention alone, the
/// unpadding that flash-attention's variable-length path and Hugging Face's <c>_upad_input</c> do. At the demo's
/// batches 23 % of the positions are padding (docs/benchmarks.md, issue 17).
/// <para>
/// The row count is rounded up to a multiple of <see cref="RowMultiple"/> with the batch's first padding positions,
/// placed after the real ones. A Linear's weight gradient sums over the rows, and MKL splits that sum between threads
/// at boundaries that give the one-thread order only when the row count is such a multiple: without the rounding the
/// trained weights depend on the thread count (measured on the demo teacher's SFT; docs/benchmarks.md). The extra rows
/// are computed like any padding and dropped: an MoE layer routes the real rows only (<see cref="RealRows"/>), and
/// <see cref="UnpackReal"/> returns zeros at every padding position.
/// </para>
/// </summary>
public sealed class PackedTokens
{
    /// <summary>Rows the decoder runs are a multiple of this (or every position of the batch, real ones first).</summary>
    public const long RowMultiple = 64;

    PackedTokens(Tensor index, long realCount, long batch, long length) => (Index, RealCount, Batch, Length) = (index, realCount, batch, length);

    /// <summary>(Count) int64: the flattened positions b·T + t the decoder runs, the real ones first, in order.</summary>
    public Tensor Index { get; }

    /// <summary>How many of <see cref="Index"/>'s positions are real (the first ones).</summary>
    public long RealCount { get; }

    public long Batch { get; }
    public long Length { get; }

    /// <summary>Rows the decoder runs: the real positions and up to <see cref="RowMultiple"/> − 1 padding ones.</summary>
    public long Count => Index.shape[0];

    /// <summary>
    /// The positions of <paramref name="attentionMask"/> (B, T) (1 real, 0 padding) to run, or null when none is padding
    /// (then the decoder runs on (B, T, D) as it is). The index lives in the caller's dispose scope.
    /// </summary>
    public static PackedTokens? Of(Tensor? attentionMask)
    {
        if (attentionMask is null) return null;
        using var scope = torch.NewDisposeScope();
        var real = attentionMask.ne(LongLivedScalars.IntZero).reshape(-1); // (B·T)
        long total = real.shape[0], realCount = real.sum().item<long>();
        if (realCount == total) return null;
        long rows = Math.Min(total, (realCount + RowMultiple - 1) / RowMultiple * RowMultiple);
        var index = real.nonzero().squeeze(1); // (N) real positions
        if (rows > realCount)
            index = torch.cat([index, real.logical_not().nonzero().squeeze(1).narrow(0, 0, rows - realCount)]); // (rows)
        return new PackedTokens(index.MoveToOuterDisposeScope(), realCount, attentionMask.shape[0], attentionMask.shape[1]);
    }

    /// <summary>The same positions from a saved index (activation checkpointing's recomputation).</summary>
    public static PackedTokens From(Tensor index, long realCount, long batch, long length) => new(index, realCount, batch, length);

    /// <summary>(B, T, ...) → (Count, ...): the rows to run.</summary>
    public Tensor Pack(Tensor x)
    {
        long[] rest = x.shape[2..];
        return x.reshape([Batch * Length, .. rest]).index_select(0, Index);
    }

    /// <summary>(Count, ...) → (B, T, ...), zeros where no row goes; differentiable in <paramref name="x"/>.</summary>
    public Tensor Unpack(Tensor x) => Scatter(x, Index);

    /// <summary>(Count, ...) → (B, T, ...) with the real rows only: zeros at every padding position.</summary>
    public Tensor UnpackReal(Tensor x)
    {
        using var realIndex = Index.narrow(0, 0, RealCount);
        return Scatter(RealRows(x), realIndex);
    }

    /// <summary>(Count, ...) → (RealCount, ...).</summary>
    public Tensor RealRows(Tensor x) => x.narrow(0, 0, RealCount);

    /// <summary>(RealCount, ...) → (Count, ...) with zero rows for the padding ones.</summary>
    public Tensor WithPaddingRows(Tensor x)
    {
        if (Count == RealCount) return x;
        long[] shape = [Count - RealCount, .. x.shape[1..]];
        return torch.cat([x, torch.zeros(shape, dtype: x.dtype, device: x.device)]);
    }

    Tensor Scatter(Tensor x, Tensor index)
    {
        long[] rest = x.shape[1..];
        var full = torch.zeros([Batch * Length, .. rest], dtype: x.dtype, device: x.device);
        return full.index_copy(0, index, x).view([Batch, Length, .. rest]);
    }
}
