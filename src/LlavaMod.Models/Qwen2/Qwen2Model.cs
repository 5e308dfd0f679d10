using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Builds the feed-forward block of decoder layer <c>layerIndex</c> when the config has an MoE
/// block and that layer is listed in it. The MoE module registers itself here (see
/// <see cref="FeedForwardFactories.Moe"/>) so that checkpoints of MoE models load without the
/// caller naming it.
/// </summary>
public delegate nn.Module<Tensor, Tensor> FeedForwardFactory(Qwen2Config config, int layerIndex);

/// <summary>Where the MoE implementation plugs in (set once, e.g. from a module initializer).</summary>
public static class FeedForwardFactories
{
    public static FeedForwardFactory? Moe { get; set; }
}

/// <summary>
/// Qwen2 decoder stack (HF <c>Qwen2Model</c>): embed_tokens, layers.N, norm. Forward takes input
/// embeddings (so LLaVA can splice image features) and returns the final-normed hidden states.
/// </summary>
public sealed class Qwen2Model : nn.Module
{
    readonly Embedding embed_tokens;
    readonly ModuleList<Qwen2DecoderLayer> layers;
    readonly RmsNorm norm;

    public Qwen2Model(Qwen2Config config, FeedForwardFactory? moeFactory = null) : base(nameof(Qwen2Model))
    {
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        var moeLayers = config.Moe?.LayerIndices(config.NumHiddenLayers).ToHashSet() ?? [];
        moeFactory ??= FeedForwardFactories.Moe;
        if (moeLayers.Count > 0 && moeFactory is null)
            throw new LlavaModException("the config has an moe block but no mixture-of-experts implementation is registered (FeedForwardFactories.Moe)");
        layers = new ModuleList<Qwen2DecoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++)
            layers.Add(new Qwen2DecoderLayer(config, i, moeLayers.Contains(i) ? moeFactory!(config, i) : null));
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        register_module("embed_tokens", embed_tokens);
        register_module("layers", layers);
        register_module("norm", norm);
    }

    public Qwen2Config Config { get; internal set; }
    public Embedding EmbedTokens => embed_tokens;
    public IReadOnlyList<Qwen2DecoderLayer> Layers => layers.ToList();
    public RmsNorm Norm => norm;

    /// <summary>Set while training keeps the embedding compact (see <see cref="Qwen2ForCausalLM.CompactTo"/>).</summary>
    public CompactVocabulary? Compact { get; internal set; }

    /// <summary>
    /// Activation checkpointing: when set, a forward in training mode with autograd on (and no KV cache) keeps only
    /// each decoder layer's inputs and recomputes the layer's activations in backward (<see cref="CheckpointedDecoderLayer"/>),
    /// trading roughly one more forward pass for the activation memory. Loss and gradients are unchanged;
    /// generation and evaluation never checkpoint.
    /// </summary>
    public bool ActivationCheckpointing { get; set; }

    /// <summary>Token embeddings [B, T, hidden] of ids [B, T].</summary>
    public Tensor Embed(Tensor inputIds)
    {
        if (Compact is null) return EmbeddingLookup.Apply(embed_tokens.weight!, inputIds);
        using var rows = Compact.RowsOf(inputIds);
        return EmbeddingLookup.Apply(embed_tokens.weight!, rows);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Compact?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>A token id every embedding table holds (for positions whose embedding is replaced, e.g. image placeholders).</summary>
    public long AnyTokenId => Compact?.Subset.TokenIdAt(0) ?? 0;

    /// <summary>
    /// Runs the decoder over <paramref name="inputsEmbeds"/> [B, T, hidden].
    /// <paramref name="attentionMask"/> [B, past+T] marks real (1) and padding (0) positions,
    /// including the cached ones; <paramref name="positionIds"/> [B, T] defaults to past..past+T-1.
    /// With a <paramref name="cache"/>, new keys/values are appended to it. Without one, a padded batch runs its
    /// per-token blocks on the real positions only (<see cref="PackedTokens"/>) and its padding positions come back as zeros.
    /// </summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var scope = torch.NewDisposeScope();
        long b = inputsEmbeds.shape[0], t = inputsEmbeds.shape[1];
        long past = cache?.Length ?? 0;
        var device = inputsEmbeds.device;
        positionIds ??= ScalarOps.Arange(past, past + t, device: device).unsqueeze(0).expand(b, t);
        var (cos, sin) = RotaryEmbedding.CosSin(positionIds, Config.HeadDim, Config.RopeTheta, inputsEmbeds.dtype);
        // a right-padded batch without a cache (training, scoring) needs no mask tensor: the kernel's causal masking
        // gives its real positions the same values; otherwise the mask is built in the attention's dtype (fp32's
        // minimum would round to -inf in bf16)
        bool causal = cache is null && t > 1 && AttentionMasks.CausalSuffices(attentionMask);
        var mask = causal ? null : AttentionMasks.CausalWithPadding(b, t, past, attentionMask, Autocast.ComputeDtype(inputsEmbeds.dtype), device);
        // without a cache, the per-token blocks run on the packed positions: (N, D) instead of (B, T, D)
        var packed = cache is null ? PackedTokens.Of(attentionMask) : null;
        var hidden = packed?.Pack(inputsEmbeds) ?? inputsEmbeds;
        if (packed is not null) (cos, sin) = (packed.Pack(cos), packed.Pack(sin)); // (N, hd)
        bool checkpoint = ActivationCheckpointing && training && cache is null && torch.is_grad_enabled();
        foreach (var layer in layers)
        {
            layer.Cache = cache;
            try { hidden = checkpoint ? CheckpointedDecoderLayer.Forward(layer, hidden, cos, sin, mask, packed, causal) : layer.Forward(hidden, cos, sin, mask, packed, causal); }
            finally { layer.Cache = null; }
        }
        var normed = norm.forward(hidden);
        return (packed?.UnpackReal(normed) ?? normed).MoveToOuterDisposeScope(); // (B, T, D)
    }
}

/// <summary>
/// HF <c>Qwen2ForCausalLM</c>: "model" (<see cref="Qwen2Model"/>) and "lm_head" (absent when
/// tie_word_embeddings: the embedding matrix is the head, as in HF files that omit lm_head.weight).
/// </summary>
public sealed class Qwen2ForCausalLM : nn.Module
{
    readonly Qwen2Model model;
    readonly Linear? lm_head;

    public Qwen2ForCausalLM(Qwen2Config config, FeedForwardFactory? moeFactory = null) : base(nameof(Qwen2ForCausalLM))
    {
        config.Validate("Qwen2 config");
        Config = config;
        model = new Qwen2Model(config, moeFactory);
        register_module("model", model);
        if (!config.TieWordEmbeddings)
        {
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            register_module("lm_head", lm_head);
        }
    }

    public Qwen2Config Config { get; private set; }
    public Qwen2Model Model => model;

    /// <summary>
    /// Records the MoE block after layers were upcycled (or null after going back to dense), so
    /// that saved config.json files describe the modules. Shapes are unchanged.
    /// </summary>
    public void SetMoeConfig(MoeConfig? moe)
    {
        var config = (Config with { Moe = moe }).Validate("MoE config");
        Config = config;
        model.Config = config;
    }

    /// <summary>The output matrix [vocab, hidden] (the embedding matrix when tied); [subset, hidden] while compact.</summary>
    public Tensor HeadWeight => lm_head?.weight ?? model.EmbedTokens.weight!;

    /// <summary>Set while the embedding and head hold only a vocabulary subset's rows.</summary>
    public CompactVocabulary? Compact => model.Compact;

    /// <summary>
    /// Makes the embedding (and an untied lm_head) hold only <paramref name="subset"/>'s rows, as
    /// new parameters: call before choosing trainable parameters and building the optimizer.
    /// Logits then need that subset; saving expands the tables back (<see cref="ForSaving"/>).
    /// </summary>
    public void CompactTo(VocabSubset subset)
    {
        if (Compact is not null) throw new InvalidOperationException("the vocabulary is already compact");
        subset.Validate(Config.VocabSize, "vocabulary subset");
        var compact = new CompactVocabulary(subset, Config.VocabSize, HeadWeight.device);
        var embedding = model.EmbedTokens;
        embedding.weight = new TorchSharp.Modules.Parameter(compact.Compact("model.embed_tokens.weight", embedding.weight!), embedding.weight!.requires_grad);
        if (lm_head is not null)
            lm_head.weight = new TorchSharp.Modules.Parameter(compact.Compact("lm_head.weight", lm_head.weight!), lm_head.weight!.requires_grad);
        model.Compact = compact;
    }

    /// <summary>The tensor to save for state-dict entry <paramref name="name"/> (relative to this module): its
    /// Hugging Face shape, i.e. a compact table expanded to the full vocabulary; any other entry as is.</summary>
    public Tensor ForSaving(string name, Tensor value) => Compact?.Expand(name, value) ?? value;

    /// <summary>Final hidden states [B, T, hidden] for token ids [B, T].</summary>
    public Tensor Hidden(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        using var scope = torch.NewDisposeScope();
        return model.Forward(model.Embed(inputIds), attentionMask, positionIds, cache).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The head matrix (V, hidden) whose row i gives logit column i: the full output matrix, or only the rows of
    /// <paramref name="subset"/> (column i is token subset.TokenIds[i]); differentiable into the parameter.
    /// </summary>
    public Tensor HeadMatrix(VocabSubset? subset = null)
    {
        var weight = HeadWeight;
        if (Compact is not null)
        {
            if (subset is null || (subset != Compact.Subset && !subset.TokenIds.SequenceEqual(Compact.Subset.TokenIds)))
                throw new LlavaModException("this model holds only its vocabulary subset's rows (compact for training): logits need that subset");
            return weight;
        }
        return subset is null ? weight : weight.index_select(0, subset.IndexTensor(weight.device));
    }

    /// <summary>
    /// fp32 logits for hidden states [..., hidden]: over the full vocabulary, or only over the rows
    /// of <paramref name="subset"/> (column i is token subset.TokenIds[i]). Training losses never call this: they fuse
    /// the head with the loss (<see cref="ChunkedHeadLoss"/>) on <see cref="HeadMatrix"/>.
    /// </summary>
    public Tensor Logits(Tensor hidden, VocabSubset? subset = null)
    {
        using var scope = torch.NewDisposeScope();
        var weight = HeadMatrix(subset);
        var logits = Autocast.Linear(hidden, weight.dtype == hidden.dtype ? weight : weight.to(hidden.dtype));
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>fp32 logits [B, T, V] for token ids [B, T].</summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null, VocabSubset? subset = null)
    {
        using var scope = torch.NewDisposeScope();
        return Logits(Hidden(inputIds, attentionMask, positionIds, cache), subset).MoveToOuterDisposeScope();
    }

    public KvCache NewCache() => new(Config.NumHiddenLayers);
}
