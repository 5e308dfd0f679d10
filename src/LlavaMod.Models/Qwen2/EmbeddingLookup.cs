using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models;

/// <summary>
/// Token embedding lookup, weight[ids] (…, D), as a custom autograd function whose backward adds each position's
/// gradient into the table's <c>.grad</c> rows in place (index_add_). <c>nn.Embedding</c>'s backward builds a dense
/// (V, D) gradient first and the engine then adds it to <c>.grad</c>: at the real 151,936-id vocabulary and hidden
/// 1,024 that is a 622 MB tensor written, read and freed every step, at the backward's memory peak (docs/benchmarks.md).
/// A table that is not a leaf (e.g. a view) gets its gradient returned the ordinary way.
/// </summary>
public sealed class EmbeddingLookup : MultiTensorFunction<EmbeddingLookup>
{
    public override string Name => nameof(EmbeddingLookup);

    /// <summary>Rows of <paramref name="weight"/> (V, D) at <paramref name="ids"/> (any shape, int64): (ids.shape…, D).</summary>
    public static Tensor Apply(Tensor weight, Tensor ids)
    {
        HandedOverGradients.Release();
        if (!weight.requires_grad || !is_grad_enabled()) return Rows(weight, ids);
        return CustomFunctionMemory.Apply<EmbeddingLookup>(ids, weight)[0];
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (ids, weight) = ((Tensor)vars[0], (Tensor)vars[1]);
        ctx.save_for_backward([ids, weight]);
        CustomFunctionMemory.Track(ctx);
        return [Rows(weight, ids)];
    }

    static Tensor Rows(Tensor weight, Tensor ids) => weight.index_select(0, ids.reshape(-1)).view([.. ids.shape, weight.shape[1]]); // (…, D)

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        HandedOverGradients.Release();
        Tensor? returned = null;
        using (var scope = NewDisposeScope())
        {
            var saved = CustomFunctionMemory.TakeSaved(ctx);
            if (grad_outputs[0].IsInvalid) return [null!, null!]; // no gradient reached the rows (grads are not materialised)
            var (ids, weight) = (saved[0], saved[1]);
            long width = weight.shape[1];
            var rows = ids.reshape(-1);                                           // (M)
            var grad = grad_outputs[0].reshape(-1, width).to(weight.dtype);       // (M, D)
            if (weight.is_leaf)
            {
                if (weight.grad is null) weight.grad = zeros_like(weight); // .grad holds its own reference; the scope frees this wrapper
                weight.grad.index_add_(0, rows, grad, LongLivedScalars.IntOne);
            }
            else returned = zeros_like(weight).index_add_(0, rows, grad, LongLivedScalars.IntOne).DetachFromDisposeScope();
        }
        HandedOverGradients.Park([returned]);
        foreach (var g in grad_outputs) g.Dispose();
        return [null!, returned!];
    }

}
