using TorchSharp;
using TorchSharp.Modules;

namespace LlavaMod.Training.Optimization;

/// <summary>AdamW hyper-parameters; the defaults are LLaVA-MoD's (β = (0.9, 0.98)).</summary>
public sealed record AdamWSettings(double LearningRate, double WeightDecay = 0.0, double Beta1 = 0.9, double Beta2 = 0.98, double Epsilon = 1e-8);

/// <summary>
/// Builds the trainer's AdamW (<see cref="AdamW"/>: TorchSharp's update in cache-sized blocks) over the
/// trainable parameters in two groups:
/// weight decay for matrices and embeddings, none for biases and normalisation weights — the
/// Hugging Face Trainer's rule (no decay for names containing "bias" and for LayerNorm
/// parameters), extended by name to RMSNorm (<c>input_layernorm</c>, <c>post_attention_layernorm</c>,
/// <c>model.norm</c>) and CLIP's <c>pre_layrnorm</c>, which HF's type-based check misses.
/// LLaVA-MoD's scripts use weight decay 0, where the split makes no difference.
/// </summary>
public static class AdamWSetup
{
    /// <summary>False for biases and the parameters of normalisation layers.</summary>
    public static bool DecaysWeight(string name)
    {
        string[] parts = name.Split('.');
        if (parts[^1].Contains("bias", StringComparison.OrdinalIgnoreCase)) return false;
        return !parts[..^1].Any(p => p.Contains("norm", StringComparison.OrdinalIgnoreCase) || p.Contains("layrnorm", StringComparison.OrdinalIgnoreCase));
    }

    public static AdamW Create(IEnumerable<(string Name, Parameter Parameter)> trainable, AdamWSettings s)
    {
        var list = trainable.ToList();
        if (list.Count == 0) throw new ArgumentException("no trainable parameters: check the trainable patterns", nameof(trainable));
        var decay = list.Where(p => DecaysWeight(p.Name)).Select(p => p.Parameter).ToList();
        var noDecay = list.Where(p => !DecaysWeight(p.Name)).Select(p => p.Parameter).ToList();
        var groups = new List<TorchSharp.Modules.AdamW.ParamGroup>();
        if (decay.Count > 0) groups.Add(new TorchSharp.Modules.AdamW.ParamGroup(decay, s.LearningRate, s.Beta1, s.Beta2, s.Epsilon, s.WeightDecay, false, false));
        if (noDecay.Count > 0) groups.Add(new TorchSharp.Modules.AdamW.ParamGroup(noDecay, s.LearningRate, s.Beta1, s.Beta2, s.Epsilon, 0.0, false, false));
        return new AdamW(groups, s.LearningRate, s.Beta1, s.Beta2, s.Epsilon, s.WeightDecay);
    }
}
