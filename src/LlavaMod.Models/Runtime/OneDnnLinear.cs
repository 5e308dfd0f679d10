using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// x · Wᵀ (+ b) in fp32 with the forward and the input gradient through <see cref="OneDnnMatmul"/>, as a custom
/// autograd function: input (…, K), weight (M, K) → (…, M). The backward is linear's: ∂x = g · W through oneDNN,
/// ∂W = gᵀ · x on BLAS (a sum over the rows), ∂b = Σ g. A product <see cref="OneDnnMatmul"/> leaves to matmul (bf16,
/// GPU, a few rows) is exactly <c>functional.linear</c>; so is the bias, added after the product.
/// </summary>
public sealed class OneDnnLinear : MultiTensorFunction<OneDnnLinear>
{
    public override string Name => nameof(OneDnnLinear);

    public static Tensor Apply(Tensor input, Tensor weight, Tensor? bias = null)
    {
        using (var rows = input.reshape(-1, input.shape[^1])) // (R, K)
            if (!OneDnnMatmul.Applies(rows) || weight.dtype != ScalarType.Float32) return nn.functional.linear(input, weight, bias);
        Tensor product;
        if (is_grad_enabled() && (input.requires_grad || weight.requires_grad))
        {
            HandedOverGradients.Release();
            product = CustomFunctionMemory.Apply<OneDnnLinear>(input, weight)[0];
        }
        else product = Product(input, weight);
        if (bias is null) return product;
        using (product) return product.Plus(bias);
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (input, weight) = ((Tensor)vars[0], (Tensor)vars[1]);
        ctx.save_for_backward([input, weight]);
        CustomFunctionMemory.Track(ctx);
        return [Product(input, weight)];
    }

    /// <summary>input (…, K) · weightᵀ through <see cref="OneDnnMatmul"/>: (…, M).</summary>
    static Tensor Product(Tensor input, Tensor weight)
    {
        using var scope = NewDisposeScope();
        var flat = OneDnnMatmul.TimesTransposed(input.reshape(-1, input.shape[^1]), weight); // (R, M)
        return flat.view([.. input.shape[..^1], weight.shape[0]]).MoveToOuterDisposeScope(); // (…, M)
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grad_outputs)
    {
        HandedOverGradients.Release();
        Tensor? gradInput = null, gradWeight = null;
        using (var scope = NewDisposeScope())
        {
            var saved = CustomFunctionMemory.TakeSaved(ctx); // the input goes with this scope, as the backward moves on
            var (input, weight) = (saved[0], saved[1]);
            if (grad_outputs[0].IsInvalid) return [null!, null!]; // no gradient reached the product (grads are not materialised)
            var g = grad_outputs[0].reshape(-1, weight.shape[0]); // (R, M)
            if (input.requires_grad) gradInput = OneDnnMatmul.Times(g, weight).view(input.shape).DetachFromDisposeScope(); // (…, K)
            if (weight.requires_grad) gradWeight = g.t().matmul(input.reshape(-1, input.shape[^1])).DetachFromDisposeScope(); // (M, K)
        }
        HandedOverGradients.Park([gradInput, gradWeight]);
        foreach (var grad in grad_outputs) grad.Dispose();
        return [gradInput!, gradWeight!];
    }
}
