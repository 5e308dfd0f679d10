using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// The k most likely columns of log_softmax(Hidden · Weightᵀ) at every position, for a teacher pass (no gradient):
/// values (N, k) in descending order from <see cref="ChunkedHeadLoss.Compute"/>, their column indices from
/// <see cref="TakeColumns"/>. Each vocabulary chunk's top-k is merged into a running top-k and its log-sum-exp kept,
/// so at the real 151,936-id vocabulary the (N, V) logits (and their log-softmax copy) never exist whole: a batch of
/// 4,096 supervised positions would otherwise hold 2 × 2.5 GB of fp32 in the logit cache pass.
/// </summary>
public sealed class TopKLogProbs : VocabularyChunkLoss
{
    readonly int _k;
    Tensor? _logSumExps;       // (N, chunks)
    Tensor? _values, _columns; // (N, k) running best logits and their columns, the first _width columns filled
    long _width;
    Tensor? _result;

    public TopKLogProbs(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1");
        _k = k;
    }

    protected internal override void Begin(long positions, int chunks, Device device)
    {
        _logSumExps = PerChunk(positions, chunks, device);
        _values = Keep(empty(positions, _k, dtype: ScalarType.Float32, device: device));
        _columns = Keep(empty(positions, _k, dtype: ScalarType.Int64, device: device));
        _width = 0;
    }

    protected internal override void Accumulate(Tensor logits, Tensor? teacherLogits, long start, int chunk)
    {
        _logSumExps!.select(1, chunk).copy_(logits.logsumexp(1));
        var (values, columns) = logits.topk(Math.Min(_k, (int)logits.shape[1]), dim: 1); // (N, ≤k)
        columns = columns.AddScalar(start);
        if (_width > 0)
        {
            values = cat([_values!.narrow(1, 0, _width), values], 1);    // (N, ≤2k), earlier columns first
            columns = cat([_columns!.narrow(1, 0, _width), columns], 1);
            var (best, where) = values.topk(Math.Min(_k, (int)values.shape[1]), dim: 1);
            (values, columns) = (best, columns.gather(1, where));
        }
        _width = values.shape[1];
        _values!.narrow(1, 0, _width).copy_(values);
        _columns!.narrow(1, 0, _width).copy_(columns);
    }

    protected internal override Tensor Finish()
    {
        if (_width == 0) throw new InvalidOperationException("no chunk was accumulated");
        if (_width < _k) throw new LlavaModException($"top-{_k} asked of a head with only {_width} columns");
        using var logSumExp = LogSumExpOverChunks(_logSumExps!); // (N)
        _result = _columns!.clone().DetachFromDisposeScope(); // not kept: it outlives the pass's Release
        return _values! - logSumExp.unsqueeze(1); // (N, k) log-probabilities
    }

    protected internal override Tensor Gradient(Tensor logits, Tensor? teacherLogits, long start, Tensor upstream) =>
        throw new NotSupportedException("top-k log-probabilities are for teacher passes: they have no gradient");

    /// <summary>After <see cref="ChunkedHeadLoss.Compute"/>: the column of each value (N, k) int64, owned by the caller.</summary>
    public Tensor TakeColumns()
    {
        var columns = _result ?? throw new InvalidOperationException("compute the top-k first");
        _result = null;
        return columns;
    }
}
