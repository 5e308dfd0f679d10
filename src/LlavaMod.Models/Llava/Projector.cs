using LlavaMod.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// LLaVA multimodal projector: "mlp2x_gelu" = Linear(in→d), GELU, Linear(d→d), registered as
/// "0" and "2" like the nn.Sequential of LLaVA's builder; "linear" = one Linear registered as
/// "0" (LLaVA stores a bare nn.Linear without the index; <see cref="Checkpoint"/> maps that).
/// </summary>
public sealed class Projector : nn.Module<Tensor, Tensor>
{
    readonly Linear first;
    readonly Linear? second;

    public Projector(string type, int visionWidth, int textWidth) : base(nameof(Projector))
    {
        Type = type;
        first = nn.Linear(visionWidth, textWidth);
        register_module("0", first);
        switch (type)
        {
            case "linear": break;
            case "mlp2x_gelu":
                second = nn.Linear(textWidth, textWidth);
                register_module("2", second);
                break;
            default:
                throw new LlavaModException($"unknown projector type '{type}' (expected mlp2x_gelu or linear)");
        }
    }

    public string Type { get; }

    public override Tensor forward(Tensor features)
    {
        using var scope = torch.NewDisposeScope();
        var x = first.forward(features);
        if (second is not null) x = second.forward(nn.functional.gelu(x));
        return x.MoveToOuterDisposeScope();
    }
}
