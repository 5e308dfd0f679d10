using TorchSharp;
using TorchSharp.Modules;

namespace LlavaMod.Training.Optimization;

/// <summary>Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients so their joint L2 norm is at most <paramref name="maxNorm"/> and returns
    /// the norm before clipping (log it: spikes show instability). Parameters without a gradient are skipped.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        if (maxNorm <= 0) throw new ArgumentOutOfRangeException(nameof(maxNorm), "max norm must be positive");
        var withGrad = parameters.Where(p => p.grad is not null).ToList();
        if (withGrad.Count == 0) return 0.0;
        return torch.nn.utils.clip_grad_norm_(withGrad, maxNorm);
    }
}
