using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// A feed-forward block whose forward also yields an auxiliary training loss (the MoE load-balancing loss) that it
/// keeps for the caller to add to the loss. Activation checkpointing (<see cref="Qwen2Model.ActivationCheckpointing"/>)
/// needs three things from such a block: the loss of the forward it just ran, a way to hand it back the same loss
/// carrying the checkpointed layer's autograd history, and a recomputation that repeats the forward exactly
/// (same random draws) without recording anything.
/// </summary>
public interface IAuxiliaryLossFeedForward
{
    /// <summary>The auxiliary loss of the most recent forward (null before the first).</summary>
    Tensor? LastAuxiliaryLoss { get; }

    /// <summary>
    /// Makes <paramref name="auxiliaryLoss"/> (the value of <see cref="LastAuxiliaryLoss"/>, now with the autograd history
    /// of a checkpointed layer) the loss of the most recent forward. The block takes ownership of the tensor.
    /// </summary>
    void ReplaceLastAuxiliaryLoss(Tensor auxiliaryLoss);

    /// <summary>The forward's output and auxiliary loss, in the caller's dispose scope, recording nothing on the block.</summary>
    (Tensor Output, Tensor AuxiliaryLoss) Recompute(Tensor input);

    /// <summary>State of the random source the forward draws from, or null when the forward draws nothing.</summary>
    Tensor? RandomState();

    /// <summary>Restores a state from <see cref="RandomState"/>.</summary>
    void RestoreRandomState(Tensor state);
}
