using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models;

/// <summary>
/// x · Wᵀ (+ b) in bf16 from fp32 master weights, for training under a bf16 <see cref="Autocast"/> scope, as a custom
/// autograd function: input (…, K) in bf16, weight (M, K) and bias (M) in fp32 → (…, M) in bf16. The forward casts the
/// weight to bf16, multiplies and lets the cast go; the backward casts it again for ∂x = g · W and returns ∂W = gᵀ · x
/// and ∂b = Σ g, computed in bf16 and handed back in fp32, as autograd does through the cast. With autograd's own cast
/// every layer's bf16 weight copy lives from its forward to its backward: 86 MB at 200.7 M parameters (4 decoder layers
/// of 1,024 × 2,816); without them that step peaks 43–56 MB lower (docs/benchmarks.md, "bf16 weight copies").
/// </summary>
public sealed class Bf16Linear : MultiTensorFunction<Bf16Linear>
{
    const string BiasKey = "bias";

    public override string Name => nameof(Bf16Linear);

    /// <summary><paramref name="input"/> (…, K) bf16 times the fp32 <paramref name="weight"/> (M, K), plus <paramref name="bias"/>: (…, M) bf16.</summary>
    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias)
    {
        HandedOverGradients.Release();
        return CustomFunctionMemory.Apply<Bf16Linear>(input, weight, bias!)[0];
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (input, weight, bias) = ((Tensor)vars[0], (Tensor)vars[1], vars[2] as Tensor);
        Tensor output;
        using (var scope = NewDisposeScope())
            output = nn.functional.linear(input, weight.to(ScalarType.BFloat16), bias?.to(ScalarType.BFloat16)).MoveToOuterDisposeScope(); // (…, M)
        ctx.save_for_backward([input, weight]);
        ctx.save_data(BiasKey, bias is { requires_grad: true });
        CustomFunctionMemory.Track(ctx);
        return [output];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        HandedOverGradients.Release();
        bool biasGrad = (bool)ctx.get_data(BiasKey);
        Tensor? gradInput = null, gradWeight = null, gradBias = null;
        using (var scope = NewDisposeScope())
        {
            var saved = CustomFunctionMemory.TakeSaved(ctx); // the input goes with this scope, as the backward moves on
            var (input, weight) = (saved[0], saved[1]);
            if (grad_outputs[0].IsInvalid) return [null!, null!, null!]; // no gradient reached the product (grads are not materialised)
            var g = grad_outputs[0].reshape(-1, weight.shape[0]);                                              // (R, M) bf16
            if (input.requires_grad)
                gradInput = g.mm(weight.to(ScalarType.BFloat16)).view(input.shape).DetachFromDisposeScope();    // (…, K) bf16
            if (weight.requires_grad)
                gradWeight = g.t().mm(input.reshape(-1, input.shape[^1])).to(weight.dtype).DetachFromDisposeScope(); // (M, K) fp32
            if (biasGrad) gradBias = g.sum([0L]).to(weight.dtype).DetachFromDisposeScope();                      // (M) fp32
        }
        HandedOverGradients.Park([gradInput, gradWeight, gradBias]);
        foreach (var grad in grad_outputs) grad.Dispose();
        return [gradInput!, gradWeight!, gradBias!];
    }
}
