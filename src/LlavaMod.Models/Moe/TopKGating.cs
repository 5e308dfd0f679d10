using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Moe;

/// <summary>
/// The routing decision for N tokens: which experts each token picked, which of those picks
/// survived the capacity limit, and the renormalised weights. All tensors live in the dispose
/// scope of the caller.
/// </summary>
public sealed class GatingDecision
{
    /// <summary>[N, E] softmax of the router logits (fp32, part of the autograd graph).</summary>
    public required Tensor Gates { get; init; }
    /// <summary>[N, k] int64: the expert of each choice (column 0 = first choice).</summary>
    public required Tensor ExpertIndices { get; init; }
    /// <summary>[N, k] bool: whether that choice got a capacity slot.</summary>
    public required Tensor Kept { get; init; }
    /// <summary>[N, k] fp32: gate weight of each choice, renormalised over the kept choices; 0 where dropped.</summary>
    public required Tensor Weights { get; init; }
    /// <summary>Scalar fp32 load-balancing loss E · Σ_e mean_prob_e · fraction_top1_e (before drops).</summary>
    public required Tensor AuxLoss { get; init; }
    /// <summary>Slots per expert.</summary>
    public required long Capacity { get; init; }
}

/// <summary>
/// Top-k gating with capacity, a line-by-line port of DeepSpeed 0.9.5 <c>top2gating</c>
/// (deepspeed/moe/sharded_moe.py, itself from fairscale's top2gate, GShard algorithm):
/// <list type="bullet">
/// <item>gates = softmax(logits) in fp32; capacity = ceil(N/E · cf·k) computed in float32 as the
/// original (a 0-dim float32 tensor times a Python float), raised to min_capacity;</item>
/// <item>1st choice = argmax(gates) (first index on ties); 2nd choice = argmax of the logits (plus
/// Gumbel noise when enabled) with the 1st masked to −inf;</item>
/// <item>slot of a choice = its rank among the same choice of that expert in token order
/// (cumsum − 1); 2nd choices are offset by the count of all 1st choices of that expert, dropped
/// ones included; a choice whose slot ≥ capacity is dropped;</item>
/// <item>weights = gate / clamp(Σ kept gates, min = float32 eps), so a token that keeps one expert
/// gets 1.0 and a token that keeps none gets 0 (its output is the residual alone);</item>
/// <item>l_aux = mean(me · ce) · E · E with me = mean gate per expert and ce = fraction of 1st
/// choices per expert before drops.</item>
/// </list>
/// For k ≠ 2 the same rule is applied to k choices (choice j+1 = argmax with choices 1..j masked,
/// offset by the counts of all earlier choices, capacity factor · k). This is our generalisation:
/// DeepSpeed's own top1gating differs (random token selection and no renormalisation).
/// </summary>
public static class TopKGating
{
    /// <summary>Capacity exactly as DeepSpeed's <c>_capacity</c>: float32 ceil(N/E · cf·k), at least minCapacity.</summary>
    public static long Capacity(long tokens, int experts, double capacityFactor, int topK, int minCapacity)
    {
        // Python: torch.ceil((num_tokens / num_experts) * torch.tensor(capacity_factor * 2)):
        // the double ratio meets a float32 0-dim tensor, so both are rounded to float32 and multiplied in float32.
        float ratio = (float)((double)tokens / experts);
        float factor = (float)(capacityFactor * topK);
        float product = ratio * factor;
        long capacity = (long)MathF.Ceiling(product);
        return capacity < minCapacity ? minCapacity : capacity;
    }

    /// <summary>Routes N tokens given fp32 router logits [N, E].</summary>
    /// <param name="gumbelNoise">Adds Gumbel noise to the logits used for choices 2..k (DeepSpeed 0.9.5 always does).</param>
    /// <param name="generator">Random source of that noise (torch's default generator when null).</param>
    public static GatingDecision Route(Tensor logits, int topK, double capacityFactor, int minCapacity, bool gumbelNoise = false, Generator? generator = null)
    {
        if (logits.dim() != 2) throw new ArgumentException($"router logits must be [N, E], got [{string.Join(", ", logits.shape)}]");
        long n = logits.shape[0];
        int e = (int)logits.shape[1];
        if (topK < 1 || topK > e) throw new ArgumentOutOfRangeException(nameof(topK), $"top-k {topK} with {e} experts");

        using var scope = NewDisposeScope();
        var logits32 = logits.to(ScalarType.Float32);
        var gates = nn.functional.softmax(logits32, 1);
        long capacity = Capacity(n, e, capacityFactor, topK, minCapacity);

        var choiceLogits = gumbelNoise ? logits32.Plus(GumbelSample(logits32.shape, logits32.device, generator)) : logits32;
        var indices = new Tensor[topK];
        var masks = new Tensor[topK];
        indices[0] = gates.argmax(1);
        masks[0] = nn.functional.one_hot(indices[0], e);
        var taken = masks[0].to(ScalarType.Bool);
        for (int j = 1; j < topK; j++)
        {
            indices[j] = choiceLogits.detach().masked_fill(taken, LongLivedScalars.NegativeInfinity).argmax(1);
            masks[j] = nn.functional.one_hot(indices[j], e);
            taken = taken.logical_or(masks[j].to(ScalarType.Bool));
        }

        // Slots: rank in token order, later choices after all earlier choices of that expert.
        var keptMasks = new Tensor[topK];
        Tensor offset = zeros(1, e, dtype: ScalarType.Int64, device: logits.device);
        using var capacityScalar = capacity.ToScalar();
        for (int j = 0; j < topK; j++)
        {
            var locations = masks[j].cumsum(0).sub(LongLivedScalars.IntOne).Plus(offset);
            keptMasks[j] = masks[j] * locations.lt(capacityScalar);
            offset = offset.Plus(masks[j].sum(0, keepdim: true));
        }

        var me = gates.mean([0]);
        var ce = masks[0].to(ScalarType.Float32).mean([0]);
        var auxLoss = (me * ce).mean().MulScalar(e).MulScalar(e);

        var kept = new Tensor[topK];
        var chosenGates = new Tensor[topK];
        Tensor denominator = null!;
        for (int j = 0; j < topK; j++)
        {
            var index = indices[j].unsqueeze(1);
            kept[j] = keptMasks[j].gather(1, index).squeeze(1);
            chosenGates[j] = gates.gather(1, index).squeeze(1) * kept[j].to(ScalarType.Float32);
            denominator = j == 0 ? chosenGates[0] : denominator.Plus(chosenGates[j]);
        }
        denominator = denominator.clamp_min(LongLivedScalars.Float32Epsilon);
        var weights = stack(chosenGates.Select(g => g / denominator).ToArray(), 1);

        return new GatingDecision
        {
            Gates = gates.MoveToOuterDisposeScope(),
            ExpertIndices = stack(indices, 1).MoveToOuterDisposeScope(),
            Kept = stack(kept, 1).to(ScalarType.Bool).MoveToOuterDisposeScope(),
            Weights = weights.MoveToOuterDisposeScope(),
            AuxLoss = auxLoss.MoveToOuterDisposeScope(),
            Capacity = capacity,
        };
    }

    /// <summary>Standard Gumbel(0, 1) samples −log(−log U), U drawn from (tiny, 1 − eps) as torch.distributions does.</summary>
    static Tensor GumbelSample(long[] shape, Device device, Generator? generator)
    {
        var u = torch.rand(shape, dtype: ScalarType.Float32, device: device, generator: generator)
            .clamp(LongLivedScalars.Float32Tiny, LongLivedScalars.OneMinusFloat32Epsilon);
        return -(-u.log()).log();
    }
}
