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

/// <summary>
/// The head's inputs at the N positions whose next token is supervised, with those tokens as column indices
/// (<see cref="Targets"/> (N), subset indices when a vocabulary subset is set) and where each position came from
/// (<see cref="Rows"/>, <see cref="Positions"/>: batch row and sequence index).
/// </summary>
public sealed class LossHead : IDisposable
{
    public required HeadInputs Head { get; init; }
    public required Tensor Targets { get; init; }
    public required long[] Rows { get; init; }
    public required long[] Positions { get; init; }

    /// <summary>Disposes the hidden states and targets; the head matrix is the model's (or a view the caller's dispose scope owns).</summary>
    public void Dispose()
    {
        Head.Hidden.Dispose();
        Targets.Dispose();
    }
}
