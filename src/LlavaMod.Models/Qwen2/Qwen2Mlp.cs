using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Qwen2 SwiGLU feed-forward: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases. This is the
/// dense MLP that sparse upcycling copies into each expert.
/// </summary>
public sealed class Qwen2Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj;

    public Qwen2Mlp(int hiddenSize, int intermediateSize) : base(nameof(Qwen2Mlp))
    {
        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        gate_proj = nn.Linear(hiddenSize, intermediateSize, hasBias: false);
        up_proj = nn.Linear(hiddenSize, intermediateSize, hasBias: false);
        down_proj = nn.Linear(intermediateSize, hiddenSize, hasBias: false);
        register_module("gate_proj", gate_proj);
        register_module("up_proj", up_proj);
        register_module("down_proj", down_proj);
    }

    public int HiddenSize { get; }
    public int IntermediateSize { get; }
    public Linear GateProj => gate_proj;
    public Linear UpProj => up_proj;
    public Linear DownProj => down_proj;

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = RecomputedActivation.Apply(SwiGlu, Autocast.Linear(gate_proj, x), Autocast.Linear(up_proj, x)); // (B, T, I)
        return Autocast.Linear(down_proj, h).MoveToOuterDisposeScope();                         // (B, T, D)
    }

    /// <summary>silu(gate) · up, both (…, I); silu(gate) is recomputed in the backward rather than kept (<see cref="RecomputedActivation"/>).</summary>
    static readonly Func<Tensor[], Tensor> SwiGlu = inputs => nn.functional.silu(inputs[0]) * inputs[1];

    /// <summary>A new MLP with the same shapes and copies of these weights (for upcycling).</summary>
    public Qwen2Mlp Copy()
    {
        var copy = new Qwen2Mlp(HiddenSize, IntermediateSize);
        using (torch.no_grad())
        {
            copy.gate_proj.weight!.copy_(gate_proj.weight!);
            copy.up_proj.weight!.copy_(up_proj.weight!);
            copy.down_proj.weight!.copy_(down_proj.weight!);
        }
        return copy.to(gate_proj.weight!.dtype).to(gate_proj.weight!.device);
    }
}
