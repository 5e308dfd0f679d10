using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>CLIP self-attention (HF CLIPAttention): q/k/v/out projections with biases, no mask.</summary>
public sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    readonly Linear k_proj, v_proj, q_proj, out_proj;
    readonly int _heads, _headDim;

    public ClipAttention(ClipVisionConfig config) : base(nameof(ClipAttention))
    {
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        k_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        v_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        q_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        out_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        register_module("k_proj", k_proj);
        register_module("v_proj", v_proj);
        register_module("q_proj", q_proj);
        register_module("out_proj", out_proj);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var dtype = Autocast.ComputeDtype(x.dtype);
        Tensor Heads(Linear proj) => Autocast.Linear(proj, x).view(b, t, _heads, _headDim).transpose(1, 2).to(dtype);
        var attended = Autocast.Attention(Heads(q_proj), Heads(k_proj), Heads(v_proj));
        return Autocast.Linear(out_proj, attended.transpose(1, 2).reshape(b, t, _heads * _headDim)).to(x.dtype).MoveToOuterDisposeScope();
    }
}

/// <summary>CLIP MLP: fc2(act(fc1(x))) with quick_gelu (x·sigmoid(1.702x)) or exact gelu.</summary>
public sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    readonly Linear fc1, fc2;
    readonly bool _quickGelu;

    public ClipMlp(ClipVisionConfig config) : base(nameof(ClipMlp))
    {
        _quickGelu = config.HiddenAct == "quick_gelu";
        fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize);
        fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize);
        register_module("fc1", fc1);
        register_module("fc2", fc2);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = Autocast.Linear(fc1, x);
        h = _quickGelu ? h * torch.sigmoid(h.mul(LongLivedScalars.QuickGeluFactor)) : nn.functional.gelu(h);
        return Autocast.Linear(fc2, h).MoveToOuterDisposeScope();
    }
}

/// <summary>CLIP encoder layer (pre-norm): x + attn(ln1(x)), then h + mlp(ln2(h)).</summary>
public sealed class ClipEncoderLayer : nn.Module<Tensor, Tensor>
{
    readonly ClipAttention self_attn;
    readonly LayerNorm layer_norm1, layer_norm2;
    readonly ClipMlp mlp;

    public ClipEncoderLayer(ClipVisionConfig config) : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(config);
        layer_norm1 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(config);
        layer_norm2 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        register_module("self_attn", self_attn);
        register_module("layer_norm1", layer_norm1);
        register_module("mlp", mlp);
        register_module("layer_norm2", layer_norm2);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = x.Plus(self_attn.forward(LayerNormFp32(layer_norm1, x)));
        return h.Plus(mlp.forward(LayerNormFp32(layer_norm2, h))).MoveToOuterDisposeScope();
    }

    /// <summary>LayerNorm computed in fp32 whatever the activation dtype, cast back after.</summary>
    internal static Tensor LayerNormFp32(LayerNorm norm, Tensor x)
    {
        if (x.dtype == ScalarType.Float32 && norm.weight!.dtype == ScalarType.Float32) return norm.forward(x);
        using var scope = torch.NewDisposeScope();
        var y = nn.functional.layer_norm(x.to(ScalarType.Float32), norm.normalized_shape,
            norm.weight!.to(ScalarType.Float32), norm.bias!.to(ScalarType.Float32), norm.eps);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}
