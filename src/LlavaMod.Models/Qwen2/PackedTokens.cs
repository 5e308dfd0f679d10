using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// The real (non-padding) positions of a padded batch, flattened row-major (b·T + t). The decoder runs its per-token
/// blocks (norms, q/k/v/o projections, MLP or mixture of experts) on these N rows only and lays them out as (B, T, ·)
/// for attention alone, the unpadding that flash-attention's variable-length path and Hugging Face's
/// <c>_upad_input</c> do. At the demo's batches 23 % of the positions are padding (docs/benchmarks.md, issue 17).
/// Padding positions come back as zero hidden states; nothing reads them (losses, caches and scores take real
/// positions only), and an MoE layer routes real tokens only.
/// </summary>
public sealed class PackedTokens
{
    PackedTokens(Tensor index, long batch, long length) => (Index, Batch, Length) = (index, batch, length);

    /// <summary>(N) int64: the flattened positions b·T + t whose mask entry is nonzero, in order.</summary>
    public Tensor Index { get; }

    public long Batch { get; }
    public long Length { get; }

    /// <summary>N, the real positions.</summary>
    public long Count => Index.shape[0];

    /// <summary>
    /// The real positions of <paramref name="attentionMask"/> (B, T) (1 real, 0 padding), or null when no position is
    /// padding (then the decoder runs on (B, T, D) as it is). The index lives in the caller's dispose scope.
    /// </summary>
    public static PackedTokens? Of(Tensor? attentionMask)
    {
        if (attentionMask is null) return null;
        using var scope = torch.NewDisposeScope();
        var real = attentionMask.ne(LongLivedScalars.IntZero).reshape(-1); // (B·T)
        long count = real.sum().item<long>();
        if (count == real.shape[0]) return null;
        var index = real.nonzero().squeeze(1); // (N)
        return new PackedTokens(index.MoveToOuterDisposeScope(), attentionMask.shape[0], attentionMask.shape[1]);
    }

    /// <summary>The same positions from a saved index (activation checkpointing's recomputation).</summary>
    public static PackedTokens From(Tensor index, long batch, long length) => new(index, batch, length);

    /// <summary>(B, T, ...) → (N, ...): the real positions' rows.</summary>
    public Tensor Pack(Tensor x)
    {
        long[] rest = x.shape[2..];
        return x.reshape([Batch * Length, .. rest]).index_select(0, Index);
    }

    /// <summary>(N, ...) → (B, T, ...), zeros at the padding positions; differentiable in <paramref name="x"/>.</summary>
    public Tensor Unpack(Tensor x)
    {
        long[] rest = x.shape[1..];
        var full = torch.zeros([Batch * Length, .. rest], dtype: x.dtype, device: x.device);
        return full.index_copy(0, Index, x).view([Batch, Length, .. rest]);
    }
}
