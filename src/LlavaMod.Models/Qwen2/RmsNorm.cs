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

    public RmsNorm(int size, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps.ToScalar();
        weight = new Parameter(torch.ones(size));
        register_parameter("weight", weight);
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        var variance = x.pow(LongLivedScalars.IntTwo).mean([-1L], keepdim: true);
        x = x * torch.rsqrt(variance.add(_eps, LongLivedScalars.IntOne)); // add(Scalar) alone passes a temporary alpha
        return (weight * x.to(input.dtype)).MoveToOuterDisposeScope();
    }
}
