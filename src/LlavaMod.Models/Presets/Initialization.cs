using LlavaMod.Models.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Random initialisation as Hugging Face does for fresh models: Linear and Embedding weights ~
/// N(0, initializer_range) (the language model's and projector's from the text config, the
/// vision tower's 0.02), biases 0, norms weight 1 / bias 0, CLIP class embedding ~ N(0, width^-0.5).
/// Deterministic for a given seed.
/// </summary>
public static class Initialization
{
    /// <summary>Hugging Face's default initializer_range (the vision tower's, and the text config's unless it says otherwise).</summary>
    public const double DefaultStd = 0.02;

    public static LlavaModel NewLlava(LlavaConfig config, int seed, FeedForwardFactory? moeFactory = null)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var model = new LlavaModel(config, moeFactory);
        double text = config.Text.InitializerRange;
        Apply(model, name => name.StartsWith("vision_tower.") ? DefaultStd : text, seed);
        return model;
    }

    // RMSNorm: input_layernorm, post_attention_layernorm, norm; CLIP: pre_layrnorm, layer_norm1/2, post_layernorm
    static bool IsNorm(string name) => name.EndsWith("norm.weight") || name.Contains("layer_norm") || name.Contains("layrnorm");

    /// <summary>Re-initialises every parameter from its own generator (independent of torch's global RNG).</summary>
    public static void Apply(nn.Module model, double std, int seed = 0) => Apply(model, _ => std, seed);

    /// <summary>Re-initialises every parameter, weights with the std <paramref name="stdOf"/> gives for the parameter's name.</summary>
    public static void Apply(nn.Module model, Func<string, double> stdOf, int seed = 0)
    {
        using var noGrad = torch.no_grad();
        using var generator = new Generator((ulong)seed);
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith(".bias")) p.zero_();
            else if (name.EndsWith("class_embedding")) Normal(p, Math.Pow(p.shape[0], -0.5), generator);
            else if (IsNorm(name)) p.fill_(LongLivedScalars.IntOne);
            else Normal(p, stdOf(name), generator);
        }
    }

    static void Normal(Tensor p, double std, Generator generator)
    {
        using var values = torch.randn(p.shape, dtype: ScalarType.Float32, generator: generator);
        using var scale = std.ToScalar();
        p.copy_(values.mul_(scale));
    }
}
