using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Moe;

public static partial class MoeUpcycler
{
    /// <summary>
    /// Replaces the dense MLP of every layer named by <paramref name="settings"/> (default: every
    /// other layer from 0) with an <see cref="MoeLayer"/> of exact expert copies and returns the
    /// model's config, now with <see cref="Qwen2Config.Moe"/> = <paramref name="settings"/> (so a saved
    /// config.json describes the MoE modules).
    /// </summary>
    public static Qwen2Config Upcycle(Qwen2ForCausalLM model, MoeConfig settings, Generator? routerGenerator = null)
    {
        var config = (model.Config with { Moe = settings }).Validate("MoE upcycling");
        var layers = model.Model.Layers;
        var indices = settings.LayerIndices(config.NumHiddenLayers);
        foreach (int index in indices)
            if (layers[index].FeedForward is not Qwen2Mlp)
                throw new LlavaModException($"MoE upcycling: layer {index} has no dense MLP to copy (it is already {layers[index].FeedForward.GetType().Name})");
        foreach (int index in indices)
        {
            var dense = (Qwen2Mlp)layers[index].FeedForward;
            layers[index].ReplaceFeedForward(FromDense(dense, config.HiddenSize, MoeOptions.From(settings), dense.Copy, routerGenerator));
            dense.Dispose();
        }
        model.SetMoeConfig(settings);
        return model.Config;
    }

    /// <summary>Upcycles the language model of a LLaVA model and records the MoE settings in its config.</summary>
    public static void Upcycle(LlavaModel model, MoeConfig settings, Generator? routerGenerator = null)
    {
        Upcycle(model.LanguageModel, settings, routerGenerator);
        model.SetMoeConfig(settings);
    }

    /// <summary>The MoE layers of a model, in layer order (empty for a dense model).</summary>
    public static IReadOnlyList<MoeLayer> MoeLayers(Qwen2ForCausalLM model) =>
        model.Model.Layers.Select(l => l.FeedForward).OfType<MoeLayer>().ToArray();
}

/// <summary>Maps the checkpoint's <see cref="MoeConfig"/> to <see cref="MoeLayerOptions"/> and plugs the MoE into model construction.</summary>
public static class MoeOptions
{
    public static MoeLayerOptions From(MoeConfig settings) => new()
    {
        NumExperts = settings.NumExperts,
        TopK = settings.TopK,
        CapacityFactor = settings.CapacityFactor,
        EvalCapacityFactor = settings.EvalCapacityFactor,
        MinCapacity = settings.MinCapacity,
    };

    /// <summary>Builds the MoE feed-forward of a layer listed in the config (experts are fresh Qwen2 MLPs; weights come from the checkpoint).</summary>
    public static nn.Module<Tensor, Tensor> CreateFeedForward(Qwen2Config config, int layerIndex) =>
        new MoeLayer(config.HiddenSize, From(config.Moe ?? throw new LlavaModException($"layer {layerIndex}: the config has no moe block")),
            _ => new Qwen2Mlp(config.HiddenSize, config.IntermediateSize));

#pragma warning disable CA2255 // The MoE registers itself where Qwen2Model looks for it, so loading an MoE checkpoint needs no extra call.
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => FeedForwardFactories.Moe ??= CreateFeedForward;
}
