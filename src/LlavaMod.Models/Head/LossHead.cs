using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

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
