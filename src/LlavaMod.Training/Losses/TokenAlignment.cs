using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>
/// Aligns Hugging Face-style labels with the positions whose logits predict them.
/// Labels follow the HF convention: <c>labels[b, t]</c> is the token at position t (or
/// <see cref="IgnoreIndex"/> where no loss is wanted, e.g. prompt, image and padding tokens), and the
/// logits at position t predict the token at t + 1. So token t + 1 is supervised through
/// position t, and the last position predicts nothing.
/// <para>
/// LLaVA-MoD's <c>compute_align_loss</c> masks the mimic loss with <c>labels[t] != -100</c>
/// applied to the logits at the same position t (no shift). That distils the position that
/// predicts the token <em>after</em> each response (the one following <c>&lt;|endoftext|&gt;</c>)
/// and skips the position that predicts the first response token. <see cref="PredictionMask"/>
/// shifts by one so that position t is distilled exactly when token t + 1 is a response token,
/// the same positions the CE loss trains.
/// </para>
/// </summary>
public static class TokenAlignment
{
    /// <summary>The label value that marks a token as not supervised (PyTorch's default).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// [B, T] bool: true at position t when label t + 1 is supervised; the last position is false.
    /// </summary>
    public static Tensor PredictionMask(Tensor labels, long ignoreIndex = IgnoreIndex)
    {
        if (labels.dim() != 2) throw new ArgumentException($"labels must be [B, T], got [{string.Join(", ", labels.shape)}]", nameof(labels));
        using var scope = NewDisposeScope();
        var next = ShiftedTargets(labels, ignoreIndex);
        using var ignored = ignoreIndex.ToScalar();
        return next.ne(ignored).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// [B, T] long: the target predicted at each position, <c>labels[t + 1]</c>; the last position
    /// gets <paramref name="ignoreIndex"/>.
    /// </summary>
    public static Tensor ShiftedTargets(Tensor labels, long ignoreIndex = IgnoreIndex)
    {
        using var scope = NewDisposeScope();
        long t = labels.shape[1];
        using var ignored = ignoreIndex.ToScalar();
        var pad = full(labels.shape[0], 1, ignored, dtype: labels.dtype, device: labels.device);
        var shifted = cat([labels.narrow(1, 1, t - 1), pad], 1);
        return shifted.MoveToOuterDisposeScope();
    }

    /// <summary>Sum of <paramref name="values"/> over positions where <paramref name="mask"/> is true, divided by their count (0 when none).</summary>
    internal static Tensor MaskedMean(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var m = mask.to_type(values.dtype);
        var result = (values * m).sum() / m.sum().clamp_min(LongLivedScalars.DoubleOne);
        return result.MoveToOuterDisposeScope();
    }
}
