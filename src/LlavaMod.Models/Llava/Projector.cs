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
    // Not Module-typed fields: TorchSharp registers Module fields by field name, and the names
    // here must be the Sequential indices "0" and "2".
    readonly Linear[] _linears;

    public Projector(string type, int visionWidth, int textWidth) : base(nameof(Projector))
    {
        Type = type;
        switch (type)
        {
            case "linear":
                _linears = [nn.Linear(visionWidth, textWidth)];
                break;
            case "mlp2x_gelu":
                _linears = [nn.Linear(visionWidth, textWidth), nn.Linear(textWidth, textWidth)];
                break;
            default:
                throw new LlavaModException($"unknown projector type '{type}' (expected mlp2x_gelu or linear)");
        }
        for (int i = 0; i < _linears.Length; i++) register_module((2 * i).ToString(), _linears[i]);
    }

    public string Type { get; }

    public override Tensor forward(Tensor features)
    {
        using var scope = torch.NewDisposeScope();
        var x = Autocast.Linear(_linears[0], features);
        for (int i = 1; i < _linears.Length; i++) x = Autocast.Linear(_linears[i], nn.functional.gelu(x));
        return x.MoveToOuterDisposeScope();
    }
}
