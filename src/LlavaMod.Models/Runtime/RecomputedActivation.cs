using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// A short chain of elementwise ops whose intermediates are recomputed in the backward instead of being kept from the
/// forward to the backward: torch.utils.checkpoint for one op chain, as a custom autograd function. The forward keeps
/// only the chain's inputs (tensors the model keeps anyway: a norm's input is the residual stream, SwiGLU's are the two
/// projections' outputs); the backward runs the chain again with autograd on and differentiates it, so the gradients
/// come from the same kernels as without the recomputation. What it saves at hidden 1,024, 4 × 256 tokens: RMSNorm's
/// normalised fp32 activations (4 MB a norm) and SwiGLU's silu(gate) (5.5 MB a layer in bf16), kept otherwise from
/// every layer's forward to its backward, at the backward's memory peak (docs/benchmarks.md, "Custom functions' memory").
/// The chain must be a pure function of its inputs (no randomness, no state).
/// </summary>
public sealed class RecomputedActivation : MultiTensorFunction<RecomputedActivation>
{
    const string ChainKey = "chain", NeedsGradKey = "needs_grad";

    public override string Name => nameof(RecomputedActivation);

    /// <summary>
    /// The largest input, in bytes, from which the chain is recomputed: below it the chain runs under autograd as it
    /// is. A recomputation costs a fixed ~0.2 ms of managed calls and a nested backward, which at the demo's widths
    /// (a 1 MB norm input) made its stages 2–5 % slower for a few MB (docs/benchmarks.md, "Custom functions' memory").
    /// </summary>
    public const long MinimumBytes = 2L << 20;

    /// <summary>
    /// <paramref name="chain"/>(<paramref name="inputs"/>), differentiable with respect to every input that requires a
    /// gradient. With autograd off, no input needing a gradient or every input under <see cref="MinimumBytes"/>, this
    /// is just the call.
    /// </summary>
    public static Tensor Apply(Func<Tensor[], Tensor> chain, params Tensor[] inputs)
    {
        if (!is_grad_enabled() || !inputs.Any(t => t.requires_grad) || inputs.Max(t => t.numel() * t.element_size()) < MinimumBytes)
            return chain(inputs);
        HandedOverGradients.Release();
        return CustomFunctionMemory.Apply<RecomputedActivation>([chain, .. inputs])[0];
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var chain = (Func<Tensor[], Tensor>)vars[0];
        var inputs = vars[1..].Cast<Tensor>().ToArray();
        Tensor output;
        using (var scope = NewDisposeScope())
            output = chain(inputs).MoveToOuterDisposeScope(); // autograd is off here (apply's forward)
        ctx.save_for_backward([.. inputs]);
        ctx.save_data(ChainKey, chain);
        ctx.save_data(NeedsGradKey, inputs.Select(t => t.requires_grad).ToArray());
        CustomFunctionMemory.Track(ctx);
        return [output];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        HandedOverGradients.Release();
        var chain = (Func<Tensor[], Tensor>)ctx.get_data(ChainKey);
        var needsGrad = (bool[])ctx.get_data(NeedsGradKey);
        var results = new Tensor?[needsGrad.Length + 1];
        if (grad_outputs[0].IsInvalid) return [.. results.Select(_ => (Tensor)null!)]; // no gradient reached the output (grads are not materialised)
        using (var scope = NewDisposeScope())
        using (enable_grad())
        {
            // the inputs go with this scope, as the backward moves on
            var inputs = CustomFunctionMemory.TakeSaved(ctx).Select((t, i) => t.detach().requires_grad_(needsGrad[i])).ToArray();
            var output = chain(inputs);
            var wanted = inputs.Where(t => t.requires_grad).ToArray();
            var grads = torch.autograd.grad([output], wanted, [grad_outputs[0]], allow_unused: true);
            for (int i = 0, w = 0; i < inputs.Length; i++)
                if (needsGrad[i]) results[i + 1] = grads[w++];
            HandedOverGradients.Park(results);
        }
        foreach (var grad in grad_outputs) grad.Dispose();
        return [.. results.Select(g => g is null || g.IsInvalid ? null! : g)];
    }
}
