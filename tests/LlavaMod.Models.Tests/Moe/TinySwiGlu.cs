using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Moe;

/// <summary>Qwen2-shaped SwiGLU MLP for tests: down(silu(gate(x)) · up(x)), no biases.</summary>
public sealed class TinySwiGlu : nn.Module<Tensor, Tensor>
{
    public Linear GateProj { get; }
    public Linear UpProj { get; }
    public Linear DownProj { get; }

    public TinySwiGlu(long d, long hidden) : base(nameof(TinySwiGlu))
    {
        GateProj = nn.Linear(d, hidden, hasBias: false);
        UpProj = nn.Linear(d, hidden, hasBias: false);
        DownProj = nn.Linear(hidden, d, hasBias: false);
        register_module("gate_proj", GateProj);
        register_module("up_proj", UpProj);
        register_module("down_proj", DownProj);
    }

    public override Tensor forward(Tensor x) =>
        DownProj.call(nn.functional.silu(GateProj.call(x)) * UpProj.call(x));
}
