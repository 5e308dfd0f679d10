using LlavaMod.Models.Runtime;
using static TorchSharp.torch;

namespace LlavaMod.Models.Moe;

/// <summary>Load of one MoE layer in the last forward, for logging.</summary>
public sealed record MoeLayerLoad(int Layer, long Tokens, long Capacity, long[] FirstChoice, long[] Kept, long[] Dropped, long FullyDroppedTokens, double AuxLoss);

/// <summary>
/// Model-level view of the MoE layers' last routing: the auxiliary loss to add to the training loss
/// (LLaVA-MoD: aux_loss_coef · Σ_layers l_aux) and per-layer loads.
/// </summary>
public static class MoeModelRouting
{
    /// <summary>(decoder layer index, MoE layer) pairs in layer order.</summary>
    public static IReadOnlyList<(int Layer, MoeLayer Moe)> Layers(Qwen2ForCausalLM model) =>
        model.Model.Layers.Where(l => l.FeedForward is MoeLayer).Select(l => (l.LayerIndex, (MoeLayer)l.FeedForward)).ToArray();

    /// <summary>Σ over MoE layers of l_aux from the last forward (fp32 scalar with its graph); null for a dense model or before any forward.</summary>
    public static Tensor? TotalAuxLoss(Qwen2ForCausalLM model)
    {
        Tensor? total = null;
        foreach (var (_, moe) in Layers(model))
            if (moe.LastRouting is { } routing) total = total is null ? routing.AuxLoss : total.Plus(routing.AuxLoss);
        return total;
    }

    /// <summary>Per-layer load counts of the last forward.</summary>
    public static IReadOnlyList<MoeLayerLoad> Loads(Qwen2ForCausalLM model) =>
        Layers(model).Where(p => p.Moe.LastRouting is not null).Select(p =>
        {
            var r = p.Moe.LastRouting!;
            return new MoeLayerLoad(p.Layer, r.TokenCount, r.Capacity, r.FirstChoiceCounts, r.KeptCounts, r.DroppedCounts, r.FullyDroppedTokens,
                r.AuxLoss.detach().cpu().item<float>());
        }).ToArray();
}
