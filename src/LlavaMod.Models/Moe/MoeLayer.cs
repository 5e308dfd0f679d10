using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models.Moe;

/// <summary>
/// Sparse mixture-of-experts feed-forward block (LLaVA-MoD / DeepSpeed 0.9.5 <c>deepspeed.moe.layer.MoE</c>
/// with ep_size 1, use_residual false). Input [..., d] (e.g. [B, T, d] or [N, d]); output has the
/// same shape and dtype. Every position is one token for routing and capacity, as DeepSpeed
/// reshapes to (-1, d); the decoder hands it the real positions only (<see cref="PackedTokens"/>). Each expert only sees the tokens routed to it (index_select → expert →
/// weighted index_add), padded with zero rows to a multiple of <see cref="RowBucket"/> where oneDNN runs its products; nothing
/// computes all experts densely.
///
/// Parameter names, checked against DeepSpeed v0.9.5 (deepspeed/moe/layer.py: <c>MoE.deepspeed_moe =
/// MOELayer(TopKGate(...), Experts(...))</c>; sharded_moe.py: <c>TopKGate.wg = Linear(d, E, bias=False).float()</c>;
/// experts.py: <c>Experts.deepspeed_experts = ModuleList(deepcopy(expert) ...)</c>) and LLaVA-MoD's
/// llava_qwen2_moe.py (<c>model.layers[i].mlp = MoE(hidden_size, expert=model.layers[i].mlp, ...)</c>):
/// under the decoder layer's <c>mlp</c> this module's state dict holds
/// <c>deepspeed_moe.gate.wg.weight</c> [E, d] and
/// <c>deepspeed_moe.experts.deepspeed_experts.{e}.{gate_proj,up_proj,down_proj}.weight</c>.
/// </summary>
public sealed class MoeLayer : nn.Module<Tensor, Tensor>, IAuxiliaryLossFeedForward
{
    // Field names are the registered names: TorchSharp may also register module fields by reflection.
    readonly DeepSpeedMoeBlock deepspeed_moe;

    /// <summary>Settings this layer routes with.</summary>
    public MoeLayerOptions Options { get; }

    /// <summary>
    /// Routing of the most recent forward (null before the first). Its tensors belong to the layer,
    /// outside any dispose scope (decoder layers dispose everything but their output), and stay
    /// valid until the next forward of this layer disposes them: add AuxLoss to the loss before that.
    /// </summary>
    public MoeRouting? LastRouting { get; private set; }

    /// <summary>Random source of the optional Gumbel noise (torch's default generator when null).</summary>
    public Generator? NoiseGenerator { get; set; }

    /// <param name="hiddenSize">Model width d.</param>
    /// <param name="options">Expert count, k, capacity factors, min capacity, noise.</param>
    /// <param name="expertFactory">Builds expert e (a [.., d] → [.., d] module).</param>
    public MoeLayer(long hiddenSize, MoeLayerOptions options, Func<int, nn.Module<Tensor, Tensor>> expertFactory)
        : base(nameof(MoeLayer))
    {
        options.Validate();
        Options = options;
        var experts = Enumerable.Range(0, options.NumExperts).Select(expertFactory).ToArray();
        deepspeed_moe = new DeepSpeedMoeBlock(new MoeGate(hiddenSize, options.NumExperts), new MoeExperts(experts));
        register_module("deepspeed_moe", deepspeed_moe);
    }

    /// <summary>The router's fp32 Linear(d → E, no bias), <c>deepspeed_moe.gate.wg</c>.</summary>
    public Linear Router => deepspeed_moe.Gate.Wg;

    /// <summary>Expert e, <c>deepspeed_moe.experts.deepspeed_experts.{e}</c>.</summary>
    public nn.Module<Tensor, Tensor> Expert(int e) => deepspeed_moe.Experts.DeepspeedExperts[e];

    public int NumExperts => Options.NumExperts;

    /// <summary>Capacity factor used now: training or evaluation, by the module's mode.</summary>
    public double ActiveCapacityFactor => training ? Options.CapacityFactor : Options.EvalCapacityFactor;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (output, decision) = Mix(input);
        var previous = LastRouting;
        LastRouting = Summarise(decision, decision.ExpertIndices.shape[0]);
        previous?.Dispose();
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Routes the tokens of <paramref name="input"/> and mixes the experts' outputs; everything in the caller's dispose scope.</summary>
    (Tensor Output, GatingDecision Decision) Mix(Tensor input)
    {
        long d = input.shape[^1];
        var tokens = input.reshape(-1, d); // (N, D), N = B·T

        var logits = deepspeed_moe.Gate.Logits(tokens); // (N, E)
        var decision = TopKGating.Route(logits, Options.TopK, ActiveCapacityFactor, Options.MinCapacity,
            Options.GumbelNoiseOnLaterChoices, NoiseGenerator);

        var output = zeros_like(tokens); // (N, D)
        Tensor? withZeroRow = null; // (N + 1, D), row N = 0: made for the first expert whose rows are padded
        var keptIndices = decision.ExpertIndices.masked_fill(decision.Kept.logical_not(), LongLivedScalars.IntMinusOne); // (N, k), −1 = dropped
        for (int e = 0; e < Options.NumExperts; e++)
        {
            using var expert = e.ToScalar();
            var slotOfExpert = keptIndices.eq(expert); // (N, k); a token picks an expert at most once
            var tokenIds = slotOfExpert.any(1).nonzero().squeeze(1); // (C_e) the tokens this expert serves
            if (tokenIds.shape[0] == 0) continue;
            var weight = (decision.Weights * slotOfExpert.to(ScalarType.Float32)).sum(1).index_select(0, tokenIds); // (C_e)
            var expertOut = Expert(e).call(ExpertRows(tokens, tokenIds, ref withZeroRow)).narrow(0, 0, tokenIds.shape[0]); // (C_e, D)
            // weighted in the expert's dtype (bf16 under autocast), summed into the fp32 output, as DeepSpeed under autocast
            output.index_add_(0, tokenIds, (expertOut * weight.unsqueeze(1).to(expertOut.dtype)).to(output.dtype), LongLivedScalars.IntOne);
        }
        return (output.reshape(input.shape), decision); // (B, T, D)
    }

    /// <summary>
    /// An expert's rows are padded to a multiple of this with zero rows where its products run on oneDNN (fp32 on the
    /// CPU, more than <see cref="OneDnnMatmul.MinElements"/> values; not a decoding step's few tokens, not bf16). oneDNN
    /// builds a primitive for each shape it meets (~0.2 ms), and the experts' token counts change every step: without
    /// padding most of a training step's expert products met a new shape; with it a handful of shapes recur (the demo's
    /// d2s stage: 3–5 % less CPU per step, its forward 9 % less; docs/benchmarks.md, "The JIT's background work and
    /// jemalloc's large-block arena (session 12)"). A zero row's outputs are dropped and it adds only zeros to the weight
    /// gradients' sums: the outputs are the same bits as without padding, the weight gradients the same within rounding
    /// (BLAS blocks the sum by the row count) (MoeLayerBehaviourTests).
    /// </summary>
    public const long RowBucket = 64;

    /// <summary>
    /// The rows an expert reads, (⌈C⌉, D): <paramref name="tokens"/> at <paramref name="tokenIds"/> (C), then zero rows
    /// up to the next multiple of <see cref="RowBucket"/> where its products run on oneDNN, read from
    /// <paramref name="withZeroRow"/> (the tokens and one zero row, made on first use).
    /// </summary>
    static Tensor ExpertRows(Tensor tokens, Tensor tokenIds, ref Tensor? withZeroRow)
    {
        long count = tokenIds.shape[0], padded = (count + RowBucket - 1) / RowBucket * RowBucket, n = tokens.shape[0];
        if (padded == count || !OneDnnMatmul.Applies(count, tokens.shape[1], Autocast.ComputeDtype(tokens.dtype), tokens.device_type))
            return tokens.index_select(0, tokenIds);
        withZeroRow ??= cat([tokens, zeros(1, tokens.shape[1], dtype: tokens.dtype, device: tokens.device)], 0);
        using var zeroRow = n.ToScalar();
        return withZeroRow.index_select(0, cat([tokenIds, full([padded - count], zeroRow, dtype: ScalarType.Int64, device: tokenIds.device)], 0));
    }

    Tensor? IAuxiliaryLossFeedForward.LastAuxiliaryLoss => LastRouting?.AuxLoss;

    void IAuxiliaryLossFeedForward.ReplaceLastAuxiliaryLoss(Tensor auxiliaryLoss)
    {
        var last = LastRouting ?? throw new InvalidOperationException("this MoE layer has not run a forward yet");
        LastRouting = last.WithAuxLoss(auxiliaryLoss);
        last.AuxLoss.Dispose();
    }

    (Tensor Output, Tensor AuxiliaryLoss) IAuxiliaryLossFeedForward.Recompute(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (output, decision) = Mix(input);
        return (output.MoveToOuterDisposeScope(), decision.AuxLoss.MoveToOuterDisposeScope());
    }

    /// <summary>The Gumbel noise's generator state (null without noise). Without a <see cref="NoiseGenerator"/> that is torch's
    /// default CPU generator: TorchSharp exposes no other device's default generator, so other devices need one.</summary>
    Tensor? IAuxiliaryLossFeedForward.RandomState()
    {
        if (!Options.GumbelNoiseOnLaterChoices) return null;
        if (NoiseGenerator is { } generator) return generator.get_state();
        if (Router.weight!.device.type != DeviceType.CPU)
            throw new LlavaModException($"activation checkpointing of an MoE layer with Gumbel noise on {Router.weight!.device} needs the layer's NoiseGenerator: only the CPU default generator's state can be saved and restored");
        using var defaultGenerator = Generator.Default;
        return defaultGenerator.get_state();
    }

    void IAuxiliaryLossFeedForward.RestoreRandomState(Tensor state)
    {
        if (NoiseGenerator is { } generator) { generator.set_state(state); return; }
        using var defaultGenerator = Generator.Default;
        defaultGenerator.set_state(state);
    }

    MoeRouting Summarise(GatingDecision decision, long n)
    {
        int e = Options.NumExperts;
        var routedOneHot = nn.functional.one_hot(decision.ExpertIndices, e); // [N, k, E]
        long[] Counts(Tensor t) => t.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var routing = new MoeRouting
        {
            AuxLoss = decision.AuxLoss.DetachFromDisposeScope(),
            ExpertIndices = decision.ExpertIndices.DetachFromDisposeScope(),
            Kept = decision.Kept.DetachFromDisposeScope(),
            Weights = decision.Weights.DetachFromDisposeScope(),
            TokenCount = n,
            Capacity = decision.Capacity,
            FirstChoiceCounts = Counts(routedOneHot.select(1, 0).sum(dim: 0)),
            RoutedCounts = Counts(routedOneHot.sum([0, 1])),
            KeptCounts = Counts((routedOneHot * decision.Kept.unsqueeze(2)).sum([0, 1])),
            FullyDroppedTokens = decision.Kept.any(1).logical_not().sum().item<long>(),
        };
        return routing;
    }

    /// <summary>DeepSpeed's MOELayer, kept only for parameter naming: <c>gate</c> and <c>experts</c>.</summary>
    sealed class DeepSpeedMoeBlock : nn.Module
    {
        readonly MoeGate gate;
        readonly MoeExperts experts;

        public DeepSpeedMoeBlock(MoeGate gate, MoeExperts experts) : base("MOELayer")
        {
            this.gate = gate;
            this.experts = experts;
            register_module("gate", gate);
            register_module("experts", experts);
        }

        public MoeGate Gate => gate;
        public MoeExperts Experts => experts;
    }
}

/// <summary>DeepSpeed's TopKGate: the router <c>wg</c>, an fp32 Linear(d → E) without bias.</summary>
public sealed class MoeGate : nn.Module
{
    readonly Linear wg;

    public MoeGate(long hiddenSize, int numExperts) : base("TopKGate")
    {
        wg = nn.Linear(hiddenSize, numExperts, hasBias: false, dtype: ScalarType.Float32);
        register_module("wg", wg);
    }

    public Linear Wg => wg;

    /// <summary>fp32 router logits [N, E]; the input (and the weight, if the model was cast) go to fp32 first, as DeepSpeed.</summary>
    public Tensor Logits(Tensor tokens)
    {
        var weight = wg.weight!;
        var w32 = weight.dtype == ScalarType.Float32 ? weight : weight.to(ScalarType.Float32);
        return nn.functional.linear(tokens.to(ScalarType.Float32), w32);
    }
}

/// <summary>DeepSpeed's Experts container: <c>deepspeed_experts</c>, a list of expert modules.</summary>
public sealed class MoeExperts : nn.Module
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> deepspeed_experts;

    public MoeExperts(IEnumerable<nn.Module<Tensor, Tensor>> experts) : base("Experts")
    {
        deepspeed_experts = new ModuleList<nn.Module<Tensor, Tensor>>(experts.ToArray());
        register_module("deepspeed_experts", deepspeed_experts);
    }

    public ModuleList<nn.Module<Tensor, Tensor>> DeepspeedExperts => deepspeed_experts;
}
