using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Tests.Generation;
using TorchSharp;
using static TorchSharp.torch;
using static LlavaMod.Models.Tests.Checkpointing.ActivationCheckpointingTests;

namespace LlavaMod.Models.Tests.Checkpointing;

/// <summary>
/// Runs alone: torch's default CPU generator is one per process, and tests of other classes running in parallel draw
/// from it whenever they build a module (nn.Linear and nn.Embedding initialise their weights from it), which shifts the
/// stream between a test's seed and its draws.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultGeneratorCollection
{
    public const string Name = "torch default generator";
}

/// <summary>
/// MoE Gumbel noise under activation checkpointing: the recomputation in backward draws the same noise as the forward
/// (so loss and gradients equal those without checkpointing), and afterwards the random stream is where it would be
/// without checkpointing, both from torch's default generator and from a layer's own <see cref="MoeLayer.NoiseGenerator"/>.
/// </summary>
[Collection(DefaultGeneratorCollection.Name)]
public class GumbelNoiseCheckpointingTests
{
    public GumbelNoiseCheckpointingTests() => TorchRuntime.EnsureLoaded();

    static Qwen2ForCausalLM Noisy()
    {
        var options = new MoeLayerOptions { CapacityFactor = 1.0, MinCapacity = 2, GumbelNoiseOnLaterChoices = true };
        return TinyModels.Randomise(new Qwen2ForCausalLM(TinyModels.TextConfig() with { Moe = ActivationCheckpointingTests.Moe },
            (config, _) => new MoeLayer(config.HiddenSize, options, _ => new Qwen2Mlp(config.HiddenSize, config.IntermediateSize))), 4);
    }

    [Fact]
    public void Gumbel_noise_is_drawn_again_from_the_saved_state_and_the_random_stream_continues_as_without_checkpointing()
    {
        (Pass Pass, float Next) Seeded(bool checkpointing)
        {
            torch.manual_seed(21);
            var pass = Run(Noisy(), checkpointing);
            return (pass, torch.rand(1).item<float>());
        }
        var (plain, plainNext) = Seeded(false);
        var (checkpointed, checkpointedNext) = Seeded(true);
        Assert.Equal(plain.Loss, checkpointed.Loss);
        AssertSameGradients(plain, checkpointed, tolerance: 1e-6);
        Assert.Equal(plainNext, checkpointedNext);
    }

    [Fact]
    public void Each_layers_own_noise_generator_is_replayed_and_continues_as_without_checkpointing()
    {
        (Pass Pass, float[] Next) Seeded(bool checkpointing, long defaultDraws = 0)
        {
            if (defaultDraws > 0) torch.rand(defaultDraws).Dispose(); // moves torch's default generator on
            var model = Noisy();
            var layers = MoeUpcycler.MoeLayers(model).ToArray();
            for (int i = 0; i < layers.Length; i++) layers[i].NoiseGenerator = new Generator(30 + (ulong)i);
            var pass = Run(model, checkpointing);
            return (pass, layers.Select(l => torch.rand(1, generator: l.NoiseGenerator).item<float>()).ToArray());
        }
        var (plain, plainNext) = Seeded(false);
        var (checkpointed, checkpointedNext) = Seeded(true);
        var (shifted, _) = Seeded(false, defaultDraws: 1184);
        Assert.Equal(plain.Loss, checkpointed.Loss);
        AssertSameGradients(plain, checkpointed, tolerance: 1e-6);
        Assert.Equal(plainNext, checkpointedNext);
        Assert.Equal(plain.Loss, shifted.Loss); // the layers' generators alone decide the noise
    }
}
