using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// log p(target_i) = z_i,target − log Σ_v exp z_iv at each position (N): the sequence scorer's token log-probs, and,
/// negated, the cross-entropy. Per chunk it keeps the chunk's log-sum-exp and the target's logit when the target falls in
/// the chunk; the gradient is ∂/∂z_iv = [v = target_i] − softmax_iv.
/// </summary>
public sealed class TargetLogProbs : VocabularyChunkLoss
{
    readonly Tensor _targets; // (N)
    Tensor? _chunkLogSumExp;                       // (N, chunks)
    Tensor? _targetLogit;                          // (N)
    Tensor? _logNormalizer;                        // (N)

    /// <param name="targets">(N) int64 column indices</param>
    public TargetLogProbs(Tensor targets)
    {
        if (targets.dim() != 1) throw new ArgumentException($"targets must be (N), got [{string.Join(", ", targets.shape)}]");
        _targets = Keep(targets.to_type(ScalarType.Int64));
    }

    protected internal override void Begin(long positions, int chunks, Device device)
    {
        _chunkLogSumExp = PerChunk(positions, chunks, device);
        _targetLogit = RunningSum(positions, device);
    }

    protected internal override void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk)
    {
        _chunkLogSumExp!.select(1, chunk).copy_(logits.logsumexp(1));
        var (local, inside) = Locate(_targets.unsqueeze(1), start, logits.shape[1], logits.dtype); // (N, 1)
        _targetLogit!.add_(logits.gather(1, local).mul(inside).squeeze(1), LongLivedScalars.IntOne); // (N)
    }

    protected internal override Tensor Finish()
    {
        _logNormalizer = Keep(LogSumExpOverChunks(_chunkLogSumExp!));
        return _targetLogit! - _logNormalizer; // (N)
    }

    protected internal override Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream)
    {
        using var scope = NewDisposeScope();
        var probs = (logits - _logNormalizer!.unsqueeze(1)).exp();                                // (N, C)
        var grad = probs.mul(upstream.neg().unsqueeze(1));                                        // (N, C)
        var (local, inside) = Locate(_targets.unsqueeze(1), start, logits.shape[1], logits.dtype); // (N, 1)
        grad.scatter_add_(1, local, upstream.unsqueeze(1).mul(inside));
        return grad.MoveToOuterDisposeScope();
    }
}
