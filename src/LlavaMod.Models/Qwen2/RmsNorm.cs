using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>Qwen2 RMSNorm: normalises in fp32, casts back to the input dtype, then scales (HF order).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Scalar _eps; // lives as long as the module (see LongLivedScalars)
    readonly Parameter weight;
    readonly Func<Tensor[], Tensor> _normalize;

    public RmsNorm(int size, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps.ToScalar();
        weight = new Parameter(torch.ones(size));
        register_parameter("weight", weight);
        _normalize = Normalize;
    }

    public Parameter Weight => weight;

    /// <summary>The norm of <paramref name="input"/> (…, D), its intermediates recomputed in the backward (<see cref="RecomputedActivation"/>).</summary>
    public override Tensor forward(Tensor input) => RecomputedActivation.Apply(_normalize, input, weight);

    /// <summary>weight · (x / sqrt(mean(x²) + eps)), x in fp32: inputs (…, D) and the weight (D).</summary>
    Tensor Normalize(Tensor[] inputs)
    {
        var (input, scale) = (inputs[0], inputs[1]);
        using var scope = torch.NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        var variance = x.pow(LongLivedScalars.IntTwo).mean([-1L], keepdim: true);
        x = x * torch.rsqrt(variance.add(_eps, LongLivedScalars.IntOne)); // add(Scalar) alone passes a temporary alpha
        return (scale * x.to(input.dtype)).MoveToOuterDisposeScope();
    }
}
