using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// One Qwen2 decoder layer: x + attn(norm(x)), then h + ffn(norm(h)). The feed-forward is a
/// <see cref="Qwen2Mlp"/> or, after sparse upcycling, a mixture-of-experts module; either way it is
/// registered under the Hugging Face name "mlp".
/// </summary>
public sealed class Qwen2DecoderLayer : nn.Module<Tensor, Tensor, Tensor, Tensor?, Tensor>
{
    readonly RmsNorm input_layernorm, post_attention_layernorm;
    readonly Qwen2Attention self_attn;
    nn.Module<Tensor, Tensor> mlp;

    public Qwen2DecoderLayer(Qwen2Config config, int layerIndex, nn.Module<Tensor, Tensor>? feedForward = null) : base(nameof(Qwen2DecoderLayer))
    {
        LayerIndex = layerIndex;
        self_attn = new Qwen2Attention(config, layerIndex);
        mlp = feedForward ?? new Qwen2Mlp(config.HiddenSize, config.IntermediateSize);
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        register_module("self_attn", self_attn);
        register_module("mlp", mlp);
        register_module("input_layernorm", input_layernorm);
        register_module("post_attention_layernorm", post_attention_layernorm);
    }

    public int LayerIndex { get; }
    public Qwen2Attention SelfAttention => self_attn;

    /// <summary>The feed-forward block (dense <see cref="Qwen2Mlp"/> or an MoE layer).</summary>
    public nn.Module<Tensor, Tensor> FeedForward => mlp;

    /// <summary>Replaces the feed-forward block (registered as "mlp"); returns the previous one.</summary>
    public nn.Module<Tensor, Tensor> ReplaceFeedForward(nn.Module<Tensor, Tensor> feedForward)
    {
        var previous = mlp;
        mlp = feedForward;
        register_module("mlp", null!); // TorchSharp: a null module unregisters the name
        register_module("mlp", feedForward);
        return previous;
    }

    internal KvCache? Cache { set => self_attn.Cache = value; }

    /// <summary>The feed-forward block when it yields an auxiliary loss (an MoE layer), else null.</summary>
    internal IAuxiliaryLossFeedForward? AuxiliaryLossFeedForward => mlp as IAuxiliaryLossFeedForward;

    public override Tensor forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask) => Forward(hidden, cos, sin, mask, null);

    /// <summary>
    /// The layer over <paramref name="hidden"/> (B, T, D), or over the packed positions, (N, D) with cos/sin (N, hd),
    /// when <paramref name="packed"/> is given (<see cref="PackedTokens"/>: the real positions and a few padding ones,
    /// which an MoE feed-forward leaves out).
    /// </summary>
    public Tensor Forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, PackedTokens? packed, bool causal = false) =>
        Run(hidden, cos, sin, mask, packed, causal, recompute: false).Output;

    /// <summary>
    /// The same computation as <see cref="Forward"/> for activation recomputation: an MoE feed-forward's auxiliary loss
    /// is returned (null for a dense one) instead of being recorded on the block.
    /// </summary>
    internal (Tensor Output, Tensor? AuxiliaryLoss) Recompute(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, PackedTokens? packed, bool causal) =>
        Run(hidden, cos, sin, mask, packed, causal, recompute: true);

    (Tensor Output, Tensor? AuxiliaryLoss) Run(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, PackedTokens? packed, bool causal, bool recompute)
    {
        using var scope = torch.NewDisposeScope();
        var h = hidden.Plus(self_attn.Forward(input_layernorm.forward(hidden), cos, sin, mask, packed, causal)); // (B, T, D) or (N, D)
        var normed = post_attention_layernorm.forward(h);
        if (mlp is IAuxiliaryLossFeedForward auxiliary)
        {
            // an MoE layer routes the real positions only: the rows packing adds take no capacity slot
            var tokens = packed?.RealRows(normed) ?? normed;
            var (routed, auxiliaryLoss) = recompute ? auxiliary.Recompute(tokens) : (mlp.forward(tokens), null);
            return (h.Plus(packed?.WithPaddingRows(routed) ?? routed).MoveToOuterDisposeScope(), auxiliaryLoss?.MoveToOuterDisposeScope());
        }
        return (h.Plus(mlp.forward(normed)).MoveToOuterDisposeScope(), null);
    }
}
