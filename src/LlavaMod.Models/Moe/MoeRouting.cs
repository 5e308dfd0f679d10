using static TorchSharp.torch;

namespace LlavaMod.Models.Moe;

/// <summary>
/// What one forward of an <see cref="MoeLayer"/> decided: the auxiliary loss to add to the
/// training loss (scaled by the aux-loss coefficient) and per-expert load counts to log.
/// Its tensors are owned by the layer (detached from dispose scopes) and disposed by the layer's
/// next forward.
/// </summary>
public sealed class MoeRouting : IDisposable
{
    /// <summary>Scalar fp32 l_aux = E · Σ_e mean_prob_e · fraction_top1_e (in the autograd graph).</summary>
    public required Tensor AuxLoss { get; init; }
    /// <summary>[N, k] int64 expert of each choice.</summary>
    public required Tensor ExpertIndices { get; init; }
    /// <summary>[N, k] bool: the choice got a capacity slot.</summary>
    public required Tensor Kept { get; init; }
    /// <summary>[N, k] fp32 renormalised combine weight of each choice (0 where dropped).</summary>
    public required Tensor Weights { get; init; }
    /// <summary>Tokens routed in this forward: the batch's real positions (the decoder packs out padding, <see cref="PackedTokens"/>).</summary>
    public required long TokenCount { get; init; }
    /// <summary>Slots per expert.</summary>
    public required long Capacity { get; init; }
    /// <summary>Per expert: tokens whose first choice it was (DeepSpeed's exp_counts).</summary>
    public required long[] FirstChoiceCounts { get; init; }
    /// <summary>Per expert: choices (any rank) that picked it.</summary>
    public required long[] RoutedCounts { get; init; }
    /// <summary>Per expert: choices that got a slot.</summary>
    public required long[] KeptCounts { get; init; }
    /// <summary>Tokens that lost every choice (their MoE output is zero; only the residual remains).</summary>
    public required long FullyDroppedTokens { get; init; }

    /// <summary>Per expert: choices refused for lack of capacity.</summary>
    public long[] DroppedCounts => RoutedCounts.Zip(KeptCounts, (r, k) => r - k).ToArray();

    /// <summary>The same routing with <paramref name="auxLoss"/> (the same value with another autograd history) as its loss;
    /// the other tensors move to the copy, so dispose only this one's <see cref="AuxLoss"/>.</summary>
    internal MoeRouting WithAuxLoss(Tensor auxLoss) => new()
    {
        AuxLoss = auxLoss, ExpertIndices = ExpertIndices, Kept = Kept, Weights = Weights, TokenCount = TokenCount, Capacity = Capacity,
        FirstChoiceCounts = FirstChoiceCounts, RoutedCounts = RoutedCounts, KeptCounts = KeptCounts, FullyDroppedTokens = FullyDroppedTokens,
    };

    public void Dispose()
    {
        AuxLoss.Dispose();
        ExpertIndices.Dispose();
        Kept.Dispose();
        Weights.Dispose();
    }
}
