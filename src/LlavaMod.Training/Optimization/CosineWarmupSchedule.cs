using TorchSharp;

namespace LlavaMod.Training.Optimization;

/// <summary>
/// Linear warm-up then cosine decay, the same function as Hugging Face's
/// <c>get_cosine_schedule_with_warmup</c> (a LambdaLR): factor(step) = step / warmup during warm-up,
/// then max(0, ½(1 + cos(π · 2·cycles · progress))) with progress = (step − warmup) / (total − warmup).
/// It is a pure function of the step, so a resumed run only needs the step counter.
/// </summary>
/// <param name="TotalSteps">Optimizer steps in the whole run.</param>
/// <param name="WarmupSteps">Steps of linear warm-up.</param>
/// <param name="NumCycles">0.5 (HF default) decays once from the peak to 0.</param>
public sealed record CosineWarmupSchedule(long TotalSteps, long WarmupSteps, double NumCycles = 0.5)
{
    /// <summary>Warm-up of ceil(total · ratio) steps, as HF's <c>TrainingArguments.get_warmup_steps</c> (LLaVA-MoD: ratio 0.03).</summary>
    public static CosineWarmupSchedule FromWarmupRatio(long totalSteps, double warmupRatio)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), "total steps must be positive");
        if (warmupRatio is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(warmupRatio), "warm-up ratio must be in [0, 1]");
        return new CosineWarmupSchedule(totalSteps, (long)Math.Ceiling(totalSteps * warmupRatio));
    }

    /// <summary>Multiplier of the base learning rate at optimizer step <paramref name="step"/> (0-based).</summary>
    public double Factor(long step)
    {
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * NumCycles * 2.0 * progress)));
    }

    public double LearningRate(double baseLearningRate, long step) => baseLearningRate * Factor(step);

    /// <summary>Sets every parameter group's learning rate to its initial rate × <see cref="Factor"/>(step).</summary>
    public void Apply(torch.optim.Optimizer optimizer, long step)
    {
        double factor = Factor(step);
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = group.InitialLearningRate * factor;
    }
}
