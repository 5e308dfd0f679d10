using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

/// <summary>Qwen2-shaped SwiGLU MLP for tests: down(silu(gate(x)) · up(x)), no biases.</summary>
public sealed class TinySwiGlu : nn.Module<Tensor, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj; // field names = registered names

    public TinySwiGlu(long d, long hidden) : base(nameof(TinySwiGlu))
    {
        gate_proj = nn.Linear(d, hidden, hasBias: false);
        up_proj = nn.Linear(d, hidden, hasBias: false);
        down_proj = nn.Linear(hidden, d, hasBias: false);
        register_module("gate_proj", gate_proj);
        register_module("up_proj", up_proj);
        register_module("down_proj", down_proj);
    }

    public Linear GateProj => gate_proj;
    public Linear UpProj => up_proj;
    public Linear DownProj => down_proj;

    public override Tensor forward(Tensor x) =>
        DownProj.call(nn.functional.silu(GateProj.call(x)) * UpProj.call(x));
}
