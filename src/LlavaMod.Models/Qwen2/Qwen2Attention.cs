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
    public override Tensor forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask) => Forward(hidden, cos, sin, mask, null);

    /// <summary>
    /// With <paramref name="packed"/>, <paramref name="hidden"/> is (N, hidden) and cos/sin (N, headDim) at the packed
    /// positions (<see cref="PackedTokens"/>: the real ones, rounded up with a few padding ones): the projections and
    /// rotary run on those rows, attention on their (B, T) layout.
    /// </summary>
    /// <paramref name="causal"/>: no <paramref name="mask"/>, the kernel's causal masking (<see cref="AttentionMasks.CausalSuffices"/>).
    public Tensor Forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, PackedTokens? packed, bool causal = false)
    {
        using var scope = torch.NewDisposeScope();
        long[] rows = hidden.shape[..^1]; // (B, T), or (N) when packed
        var q = Autocast.Linear(q_proj, hidden).view([.. rows, _heads, _headDim]);   // (B, T, H, hd) or (N, H, hd)
        var k = Autocast.Linear(k_proj, hidden).view([.. rows, _kvHeads, _headDim]); // (B, T, Hkv, hd) or (N, Hkv, hd)
        var v = Autocast.Linear(v_proj, hidden).view([.. rows, _kvHeads, _headDim]); // (B, T, Hkv, hd) or (N, Hkv, hd)
        // rotary in the activations' dtype, then q/k/v (and the cache) in the attention's compute dtype
        var dtype = Autocast.ComputeDtype(hidden.dtype);
        q = RotaryEmbedding.Apply(q, cos, sin).to(dtype);
        k = RotaryEmbedding.Apply(k, cos, sin).to(dtype);
        v = v.to(dtype);
        if (packed is not null) (q, k, v) = (packed.Unpack(q), packed.Unpack(k), packed.Unpack(v)); // (B, T, ·, hd)
        long b = q.shape[0], t = q.shape[1];
        q = q.transpose(1, 2); // (B, H, T, hd)
        k = k.transpose(1, 2); // (B, Hkv, T, hd)
        v = v.transpose(1, 2); // (B, Hkv, T, hd)
        if (Cache is not null) (k, v) = Cache.Append(_layerIndex, k, v); // (B, Hkv, past + T, hd)
        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1); // (B, H, S, hd)
            v = v.repeat_interleave(groups, dim: 1); // (B, H, S, hd)
        }
        var attended = Autocast.Attention(q, k, v, mask, causal);                  // (B, H, T, hd)
        var merged = attended.transpose(1, 2).reshape(b, t, _heads * _headDim);    // (B, T, H·hd)
        if (packed is not null) merged = packed.Pack(merged);                      // (N, H·hd)
        return Autocast.Linear(o_proj, merged).to(hidden.dtype).MoveToOuterDisposeScope(); // (B, T, D) or (N, D)
    }
}
