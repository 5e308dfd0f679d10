using LlavaMod.Core;

namespace LlavaMod.Models.Moe;

/// <summary>
/// Settings of one mixture-of-experts layer. Defaults follow the LLaVA-MoD training scripts
/// (4 experts, top-2, capacity factor 1.5 in training, 2.0 in evaluation, minimum capacity 4,
/// no Gumbel noise so that evaluation is reproducible).
/// </summary>
public sealed record MoeLayerOptions
{
    /// <summary>Number of experts E.</summary>
    public int NumExperts { get; init; } = 4;

    /// <summary>Experts per token k (DeepSpeed supports 1 and 2; any 1 ≤ k ≤ E works here, see <see cref="TopKGating"/>).</summary>
    public int TopK { get; init; } = 2;

    /// <summary>Capacity factor while the module is in training mode.</summary>
    public double CapacityFactor { get; init; } = 1.5;

    /// <summary>Capacity factor while the module is in evaluation mode.</summary>
    public double EvalCapacityFactor { get; init; } = 2.0;

    /// <summary>Lower bound on the per-expert capacity.</summary>
    public int MinCapacity { get; init; } = 4;

    /// <summary>
    /// Adds Gumbel noise to the router logits when picking the 2nd (and later) expert, as DeepSpeed
    /// 0.9.5's top2gating always does (training and evaluation alike). Off by default.
    /// </summary>
    public bool GumbelNoiseOnLaterChoices { get; init; }

    /// <summary>Throws a <see cref="LlavaModException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (NumExperts < 1) throw new LlavaModException($"MoE: num_experts must be ≥ 1 (got {NumExperts}).");
        if (TopK < 1 || TopK > NumExperts)
            throw new LlavaModException($"MoE: top_k must be between 1 and num_experts={NumExperts} (got {TopK}).");
        if (!(CapacityFactor > 0) || !(EvalCapacityFactor > 0))
            throw new LlavaModException($"MoE: capacity factors must be > 0 (got {CapacityFactor} / {EvalCapacityFactor}).");
        if (MinCapacity < 0) throw new LlavaModException($"MoE: min_capacity must be ≥ 0 (got {MinCapacity}).");
    }
}
