using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// What the lm head reads at the N loss positions: the final hidden states <see cref="Hidden"/> (N, D) and the head
/// matrix <see cref="Weight"/> (V, D), whose row v gives logit column v (the vocabulary subset's rows when the model has
/// one). The logits would be Hidden · Weightᵀ (N, V); the fused losses (<see cref="ChunkedHeadLoss"/>) compute them one
/// vocabulary chunk at a time instead, so the (N, V) tensor never exists whole.
/// </summary>
public sealed record HeadInputs(Tensor Hidden, Tensor Weight)
{
    /// <summary>N, the number of positions.</summary>
    public long Positions => Hidden.shape[0];

    /// <summary>V, the number of logit columns.</summary>
    public long Columns => Weight.shape[0];
}
