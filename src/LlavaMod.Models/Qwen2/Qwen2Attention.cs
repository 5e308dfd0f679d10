using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Qwen2 grouped-query self-attention: q/k/v projections with bias, o_proj without, rotary on q
/// and k, keys/values repeated to the query heads, scaled dot-product attention.
/// </summary>
public sealed class Qwen2Attention : nn.Module<Tensor, Tensor, Tensor, Tensor?, Tensor>
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;
    readonly int _heads, _kvHeads, _headDim;
    readonly int _layerIndex;

    public Qwen2Attention(Qwen2Config config, int layerIndex) : base(nameof(Qwen2Attention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _layerIndex = layerIndex;
        q_proj = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: true);
        k_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: true);
        v_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: true);
        o_proj = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: false);
        register_module("q_proj", q_proj);
        register_module("k_proj", k_proj);
        register_module("v_proj", v_proj);
        register_module("o_proj", o_proj);
    }

    /// <summary>Cache used by the next <see cref="forward"/> call (set by the decoder layer).</summary>
    internal KvCache? Cache { get; set; }

    /// <param name="hidden">[B, T, hidden]</param>
    /// <param name="cos">rotary cos [B, T, headDim]</param>
    /// <param name="sin">rotary sin [B, T, headDim]</param>
    /// <param name="mask">additive mask [B, 1, T, past+T] or null</param>
    public override Tensor forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask)
    {
        using var scope = torch.NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        var q = Autocast.Linear(q_proj, hidden).view(b, t, _heads, _headDim).transpose(1, 2);   // (B, H, T, hd)
        var k = Autocast.Linear(k_proj, hidden).view(b, t, _kvHeads, _headDim).transpose(1, 2); // (B, Hkv, T, hd)
        var v = Autocast.Linear(v_proj, hidden).view(b, t, _kvHeads, _headDim).transpose(1, 2); // (B, Hkv, T, hd)
        // rotary in the activations' dtype, then q/k/v (and the cache) in the attention's compute dtype
        var dtype = Autocast.ComputeDtype(hidden.dtype);
        q = RotaryEmbedding.Apply(q, cos, sin).to(dtype);
        k = RotaryEmbedding.Apply(k, cos, sin).to(dtype);
        v = v.to(dtype);
        if (Cache is not null) (k, v) = Cache.Append(_layerIndex, k, v); // (B, Hkv, past + T, hd)
        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1); // (B, H, S, hd)
            v = v.repeat_interleave(groups, dim: 1); // (B, H, S, hd)
        }
        var attended = Autocast.Attention(q, k, v, mask);                          // (B, H, T, hd)
        var merged = attended.transpose(1, 2).reshape(b, t, _heads * _headDim);    // (B, T, H·hd)
        return Autocast.Linear(o_proj, merged).to(hidden.dtype).MoveToOuterDisposeScope(); // (B, T, D)
    }
}
