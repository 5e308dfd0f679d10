using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Several <see cref="VocabularyChunkLoss"/>es over one pass of the head (e.g. the cross-entropy and the mimic KL of a
/// d2s step): values (N, m), column j from part j; the gradient is the sum of the parts' gradients, each with its
/// column of the upstream gradient. At most one part may have a teacher.
/// </summary>
public sealed class CombinedChunkLoss : VocabularyChunkLoss
{
    readonly VocabularyChunkLoss[] _parts;

    public CombinedChunkLoss(params VocabularyChunkLoss[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("nothing to combine", nameof(parts));
        if (parts.Count(p => p.Teacher is not null) > 1) throw new ArgumentException("at most one part may read a teacher's logits", nameof(parts));
        _parts = parts;
    }

    public override HeadInputs? Teacher => _parts.Select(p => p.Teacher).FirstOrDefault(t => t is not null);

    protected internal override void Begin(long positions, int chunks, Device device)
    {
        foreach (var part in _parts) part.BeginPass(positions, chunks, device);
    }

    protected internal override void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk)
    {
        foreach (var part in _parts) part.Accumulate(logits, part.Teacher is null ? null : teacherLogits, start, chunk);
    }

    protected internal override Tensor Finish() => stack(_parts.Select(p => p.FinishPass()).ToArray(), 1); // (N, m)

    protected internal override Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream)
    {
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        for (int j = 0; j < _parts.Length; j++)
        {
            var part = _parts[j].Gradient(logits, _parts[j].Teacher is null ? null : teacherLogits, start, upstream.select(1, j)); // (N, C)
            sum = sum is null ? part : sum.Plus(part);
        }
        return sum!.MoveToOuterDisposeScope();
    }

    internal override void Release()
    {
        foreach (var part in _parts) part.Release();
        base.Release();
    }
}
