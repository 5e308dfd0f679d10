using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models;

/// <summary>
/// The lm head fused with a per-position loss, as a custom autograd function: values (N) (or (N, m)) of a
/// <see cref="VocabularyChunkLoss"/> on the logits Hidden · Weightᵀ without ever holding the (N, V) logits or their
/// gradient. The forward computes the logits one vocabulary chunk at a time (N × C columns, about
/// <see cref="ChunkElements"/> values) and keeps only the loss's per-position statistics; the backward recomputes each
/// chunk, asks the loss for ∂value/∂logits of the chunk (N, C) and turns it into the hidden states' gradient
/// (accumulated, N × D) and the chunk's rows of the weight's gradient (C × D, written once). This is the technique of
/// Liger Kernel's fused linear cross-entropy and of Cut Cross-Entropy (Wijmans et al., 2024), chunked over the
/// vocabulary rather than the rows so that each weight row is read once per pass and its gradient written once.
/// <para>
/// Cost: one more head matmul than the unfused path (the recomputation), against the (N, V) fp32 logits, their
/// log-softmax and their gradient, each written and read several times: at the real 151,936-id vocabulary the unfused
/// loss is memory-bound (docs/benchmarks.md). Under a bf16 <see cref="Autocast"/> scope the matmuls run in bf16 (the
/// chunk's weight rows are cast as they are used; no whole bf16 copy of the head) and everything else in fp32.
/// </para>
/// </summary>
public sealed class ChunkedHeadLoss : MultiTensorFunction<ChunkedHeadLoss>
{
    /// <summary>Logit values one chunk holds (N × C): 1 Mi fp32 values, 4 MB. Small enough for the chunk to stay in cache
    /// between its ops and under glibc's mmap threshold (a larger chunk page-faults in fresh memory every time): at hidden
    /// 1,024 in bf16 a 1,020 × 1,024-column chunk multiplies at ~960 GFLOP/s, an 8,192-column one at ~740
    /// (docs/benchmarks.md, head-probe).</summary>
    public const long ChunkElements = 1L << 20;

    const string LossKey = "loss", ColumnsKey = "columns", DtypeKey = "dtype";

    public override string Name => nameof(ChunkedHeadLoss);

    /// <summary>
    /// <paramref name="loss"/>'s values (N), or (N, m) for a <see cref="CombinedChunkLoss"/>, on the logits of
    /// <paramref name="head"/>, differentiable with respect to the hidden states and the head matrix.
    /// <paramref name="chunkColumns"/> overrides the chunk width (tests).
    /// </summary>
    public static Tensor Compute(HeadInputs head, VocabularyChunkLoss loss, long? chunkColumns = null)
    {
        Check(head, loss);
        HandedOverGradients.Release();
        long columns = Math.Clamp(chunkColumns ?? ChunkElements / Math.Max(1, head.Positions), 1, head.Columns);
        bool recorded = is_grad_enabled() && (head.Hidden.requires_grad || head.Weight.requires_grad);
        var values = CustomFunctionMemory.Apply<ChunkedHeadLoss>(loss, columns, head.Hidden, head.Weight)[0];
        if (!recorded) loss.Release();
        return values;
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var loss = (VocabularyChunkLoss)vars[0];
        long columns = (long)vars[1];
        var (hidden, weight) = ((Tensor)vars[2], (Tensor)vars[3]);
        var dtype = Autocast.ComputeDtype(hidden.dtype);
        Tensor values;
        using (var scope = NewDisposeScope())
        {
            var x = hidden.to(dtype);                       // (N, D)
            var teacherX = loss.Teacher?.Hidden.to(dtype);  // (N, Dt)
            var chunks = Chunks(weight.shape[0], columns).ToArray();
            loss.BeginPass(x.shape[0], chunks.Length, x.device);
            for (int c = 0; c < chunks.Length; c++)
            {
                using var chunk = NewDisposeScope();
                var (start, count) = chunks[c];
                var logits = Logits(x, Rows(weight, start, count, dtype));                                                   // (N, C)
                var teacherLogits = loss.Teacher is { } teacher ? Logits(teacherX!, Rows(teacher.Weight, start, count, dtype)) : null; // (N, C)
                loss.Accumulate(logits, teacherLogits, start, c);
            }
            values = loss.FinishPass().MoveToOuterDisposeScope(); // (N)
        }
        ctx.save_for_backward([hidden, weight]);
        ctx.save_data(LossKey, loss);
        ctx.save_data(ColumnsKey, columns);
        ctx.save_data(DtypeKey, dtype);
        CustomFunctionMemory.Track(ctx);
        return [values];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        HandedOverGradients.Release();
        var loss = (VocabularyChunkLoss)ctx.get_data(LossKey);
        long columns = (long)ctx.get_data(ColumnsKey);
        var dtype = (ScalarType)ctx.get_data(DtypeKey);
        Tensor? gradHidden = null, gradWeight = null;
        using (var scope = NewDisposeScope())
        {
            var saved = CustomFunctionMemory.TakeSaved(ctx); // the hidden states go with this scope
            if (grad_outputs[0].IsInvalid) { loss.Release(); return [null!, null!, null!, null!]; } // no gradient reached the values
            var (hidden, weight) = (saved[0], saved[1]);
            var upstream = grad_outputs[0].to(ScalarType.Float32); // (N)
            var x = hidden.to(dtype);                              // (N, D)
            var teacherX = loss.Teacher?.Hidden.to(dtype);
            var hiddenSum = hidden.requires_grad ? zeros(hidden.shape, dtype: ScalarType.Float32, device: hidden.device) : null; // (N, D)
            // A leaf weight (the parameter itself, e.g. a tied embedding) takes its gradient straight into .grad, chunk by
            // chunk, instead of through a (V, D) tensor the engine then adds there: one fewer weight-sized tensor at the
            // backward's peak and one fewer pass over it. A non-leaf weight (a vocabulary subset's rows) gets it returned.
            bool intoGrad = weight.requires_grad && weight.is_leaf;
            if (intoGrad && weight.grad is null) weight.grad = zeros_like(weight); // .grad holds its own reference; the scope frees this wrapper
            var weightGrad = !weight.requires_grad ? null : intoGrad ? weight.grad : empty(weight.shape, dtype: weight.dtype, device: weight.device); // (V, D)
            foreach (var (start, count) in Chunks(weight.shape[0], columns))
            {
                using var chunk = NewDisposeScope();
                var rows = Rows(weight, start, count, dtype);                                                     // (C, D)
                var logits = Logits(x, rows);                                                                     // (N, C)
                var teacherLogits = loss.Teacher is { } teacher ? Logits(teacherX!, Rows(teacher.Weight, start, count, dtype)) : null;
                var g = loss.Gradient(logits, teacherLogits, start, upstream).to(dtype);                         // (N, C)
                hiddenSum?.add_(OneDnnMatmul.Times(g, rows).to(ScalarType.Float32), LongLivedScalars.IntOne);   // (N, D)
                var rowsGrad = g.t().matmul(x);                                                                  // (C, D)
                if (intoGrad) weightGrad!.narrow(0, start, count).add_(rowsGrad.to(weight.dtype), LongLivedScalars.IntOne);
                else weightGrad?.narrow(0, start, count).copy_(rowsGrad);
            }
            loss.Release();
            gradHidden = hiddenSum?.to(hidden.dtype).DetachFromDisposeScope();
            gradWeight = intoGrad ? null : weightGrad?.DetachFromDisposeScope();
        }
        HandedOverGradients.Park([gradHidden, gradWeight]);
        foreach (var grad in grad_outputs) grad.Dispose();
        return [null!, null!, gradHidden!, gradWeight!];
    }

    /// <summary>Rows [start, start + count) of a head matrix in the compute dtype: (C, D).</summary>
    static Tensor Rows(Tensor weight, long start, long count, ScalarType dtype) => weight.narrow(0, start, count).to(dtype);

    /// <summary>One chunk's fp32 logits x · rowsᵀ: (N, C). An fp32 product goes through oneDNN (<see cref="OneDnnMatmul"/>).</summary>
    static Tensor Logits(Tensor x, Tensor rows) => OneDnnMatmul.TimesTransposed(x, rows).to(ScalarType.Float32);

    static IEnumerable<(long Start, long Count)> Chunks(long total, long columns)
    {
        for (long start = 0; start < total; start += columns) yield return (start, Math.Min(columns, total - start));
    }

    static void Check(HeadInputs head, VocabularyChunkLoss loss)
    {
        if (head.Hidden.dim() != 2 || head.Weight.dim() != 2 || head.Hidden.shape[1] != head.Weight.shape[1])
            throw new ArgumentException($"the head needs hidden states (N, D) and a head matrix (V, D), got [{string.Join(", ", head.Hidden.shape)}] and [{string.Join(", ", head.Weight.shape)}]");
        if (loss.Teacher is { } teacher && (teacher.Positions != head.Positions || teacher.Columns != head.Columns || teacher.Hidden.shape[1] != teacher.Weight.shape[1]))
            throw new ArgumentException($"the teacher's head must cover the same {head.Positions} positions and {head.Columns} columns, got hidden [{string.Join(", ", teacher.Hidden.shape)}] and head [{string.Join(", ", teacher.Weight.shape)}]");
    }
}
