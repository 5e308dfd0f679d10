using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Losses;

/// <summary>Which preference objective to optimise.</summary>
public enum PreferenceLossType
{
    /// <summary>DPO: −log σ(β·[(π_w − π_ref,w) − (π_l − π_ref,l)]).</summary>
    Sigmoid,
    /// <summary>TRL 0.7.5–0.7.11 <c>kto_pair</c> (LLaVA-MoD's default); see <see cref="PreferenceLoss"/>.</summary>
    KtoPair,
    /// <summary>Hallucination-severity-aware DPO: the rejected log-probs weighed by the pair's severity.</summary>
    HsaDpo,
    /// <summary>IPO as in TRL: (logits − 1/(2β))² with logits = (π_w − π_l) − (π_ref,w − π_ref,l), every π the
    /// sequence's <em>mean</em> token log-prob (TRL averages over the completion's tokens for IPO only).</summary>
    Ipo,
    /// <summary>SLiC's hinge as in TRL: relu(1 − β·logits).</summary>
    Hinge,
}

/// <param name="Type">The objective.</param>
/// <param name="Beta">β, 0.1 in LLaVA-MoD and TRL.</param>
/// <param name="RpoWeight">Weight α of the RPO term α·mean_pairs(−π_w / n_w) (0 = off; docs/demo.md uses 1.0).</param>
/// <param name="PreferenceWeight">Weight of the preference term; 0 with RpoWeight &gt; 0 is the "chosen only" control (plain fine-tuning on the chosen responses).</param>
/// <param name="LabelSmoothing">ε of conservative DPO (sigmoid only, as TRL's <c>label_smoothing</c>): the preference label is
/// taken as wrong with probability ε, so the loss is −(1 − ε)·log σ(β·logits) − ε·log σ(−β·logits); 0 = plain DPO.</param>
public sealed record PreferenceLossOptions(PreferenceLossType Type = PreferenceLossType.Sigmoid, double Beta = 0.1, double RpoWeight = 0.0,
    double PreferenceWeight = 1.0, double LabelSmoothing = 0.0);

/// <summary>
/// One batch of N pairs: summed response log-probs ((N) each) under the policy (with grad) and
/// the reference (the teacher, constants). <paramref name="RejectedSeverity"/> ((N), HSA-DPO's w_r)
/// is required for <see cref="PreferenceLossType.HsaDpo"/>; the token counts ((N) each) are required
/// for IPO (mean log-probs) and, the chosen ones, when the RPO term is on.
/// </summary>
public sealed record PreferenceBatch(
    Tensor PolicyChosen, Tensor PolicyRejected, Tensor ReferenceChosen, Tensor ReferenceRejected,
    Tensor? RejectedSeverity = null, Tensor? ChosenTokenCounts = null, Tensor? RejectedTokenCounts = null);

/// <summary>Batch means, as TRL logs them: rewards are β·(π − π_ref), accuracy is the share of pairs with reward_w &gt; reward_l.</summary>
public sealed record PreferenceMetrics(
    double RewardChosen, double RewardRejected, double RewardMargin, double RewardAccuracy,
    double PreferenceTerm, double ChosenNll);

/// <summary>The scalar loss to back-propagate and its metrics.</summary>
public sealed record PreferenceLossResult(Tensor Loss, PreferenceMetrics Metrics);

/// <summary>
/// Preference losses from summed log-probs, with TRL's semantics (<c>DPOTrainer.dpo_loss</c>; IPO on
/// mean log-probs as TRL's <c>concatenated_forward</c> computes them for it). KTO-pair follows TRL 0.7.x exactly: with
/// KL_w = mean(π_w − π_ref,w).clamp(min 0) and KL_l = mean(π_l − π_ref,l).clamp(min 0) taken over
/// the batch (so a pair's loss depends on its batch), the losses are 1 − σ(β[(π_w − π_ref,w) − KL_l])
/// and 1 − σ(β[KL_w − (π_l − π_ref,l)]) (1 − σ, not −log σ), and the mean runs over all 2N terms.
/// The optional RPO term is length-normalised per pair as in the RPO paper (TRL's rpo_alpha
/// instead averages over all chosen tokens of the batch; the two agree when lengths are equal).
/// </summary>
public static class PreferenceLoss
{
    public static PreferenceLossResult Compute(PreferenceBatch batch, PreferenceLossOptions options)
    {
        if (options.Beta <= 0) throw new ArgumentOutOfRangeException(nameof(options), "beta must be positive");
        if (options.LabelSmoothing is < 0 or > 0.5) throw new ArgumentOutOfRangeException(nameof(options), "label_smoothing must be in [0, 0.5]");
        if (options.LabelSmoothing > 0 && options.Type != PreferenceLossType.Sigmoid)
            throw new ArgumentException($"label_smoothing applies to the sigmoid (DPO) loss only, not {options.Type}", nameof(options));
        using var scope = NewDisposeScope();
        double beta = options.Beta;
        var (policyChosen, policyRejected, referenceChosen, referenceRejected) = options.Type == PreferenceLossType.Ipo
            ? MeanLogProbs(batch)
            : (batch.PolicyChosen, batch.PolicyRejected, batch.ReferenceChosen, batch.ReferenceRejected);
        var chosenRatio = policyChosen - referenceChosen.detach();      // (N)
        var rejectedRatio = policyRejected - referenceRejected.detach(); // (N)

        Tensor losses = options.Type switch
        {
            PreferenceLossType.Sigmoid => SigmoidLosses((chosenRatio - rejectedRatio).MulScalar(beta), options.LabelSmoothing),
            PreferenceLossType.Ipo => (chosenRatio - rejectedRatio).SubScalar(1.0 / (2.0 * beta)).pow(LongLivedScalars.IntTwo),
            PreferenceLossType.Hinge => nn.functional.relu((chosenRatio - rejectedRatio).MulScalar(beta).neg().add(LongLivedScalars.IntOne, LongLivedScalars.IntOne)),
            PreferenceLossType.HsaDpo => HsaDpoLosses(batch, beta),
            PreferenceLossType.KtoPair => KtoPairLosses(chosenRatio, rejectedRatio, beta),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Type, "unknown preference loss type"),
        };
        var preferenceTerm = losses.mean();
        var loss = preferenceTerm.MulScalar(options.PreferenceWeight);
        double chosenNll = 0;
        if (options.RpoWeight != 0)
        {
            if (batch.ChosenTokenCounts is null)
                throw new ArgumentException("the RPO term needs ChosenTokenCounts (tokens per chosen response)");
            var nll = (-batch.PolicyChosen / batch.ChosenTokenCounts.to_type(batch.PolicyChosen.dtype).clamp_min(LongLivedScalars.IntOne)).mean();
            chosenNll = nll.to_type(ScalarType.Float64).item<double>();
            loss = loss.Plus(nll.MulScalar(options.RpoWeight));
        }

        var rewardChosen = chosenRatio.MulScalar(beta).detach();
        var rewardRejected = rejectedRatio.MulScalar(beta).detach();
        var metrics = new PreferenceMetrics(
            Scalar(rewardChosen.mean()),
            Scalar(rewardRejected.mean()),
            Scalar((rewardChosen - rewardRejected).mean()),
            Scalar((rewardChosen > rewardRejected).to_type(ScalarType.Float64).mean()),
            Scalar(preferenceTerm),
            chosenNll);
        return new PreferenceLossResult(loss.MoveToOuterDisposeScope(), metrics);
    }

    static double Scalar(Tensor t) => t.detach().to_type(ScalarType.Float64).item<double>();

    /// <summary>−(1 − ε)·log σ(z) − ε·log σ(−z); with ε = 0 exactly −log σ(z).</summary>
    static Tensor SigmoidLosses(Tensor z, double labelSmoothing)
    {
        var losses = -nn.functional.logsigmoid(z);
        if (labelSmoothing == 0) return losses;
        return losses.MulScalar(1 - labelSmoothing) - nn.functional.logsigmoid(z.neg()).MulScalar(labelSmoothing);
    }

    /// <summary>Policy and reference log-probs divided by their sequences' token counts.</summary>
    static (Tensor, Tensor, Tensor, Tensor) MeanLogProbs(PreferenceBatch b)
    {
        if (b.ChosenTokenCounts is null || b.RejectedTokenCounts is null)
            throw new ArgumentException("IPO needs ChosenTokenCounts and RejectedTokenCounts (it compares mean token log-probs)");
        var nc = b.ChosenTokenCounts.to_type(b.PolicyChosen.dtype).clamp_min(LongLivedScalars.IntOne);
        var nr = b.RejectedTokenCounts.to_type(b.PolicyRejected.dtype).clamp_min(LongLivedScalars.IntOne);
        return (b.PolicyChosen / nc, b.PolicyRejected / nr, b.ReferenceChosen / nc, b.ReferenceRejected / nr);
    }

    static Tensor HsaDpoLosses(PreferenceBatch b, double beta)
    {
        if (b.RejectedSeverity is null) throw new ArgumentException("HSA-DPO needs RejectedSeverity (w_r per pair)");
        var wr = b.RejectedSeverity.to_type(b.PolicyChosen.dtype);
        // w_c = 1.
        var logits = (b.PolicyChosen - wr * b.PolicyRejected) - (b.ReferenceChosen.detach() - wr * b.ReferenceRejected.detach());
        return -nn.functional.logsigmoid(logits.MulScalar(beta));
    }

    static Tensor KtoPairLosses(Tensor chosenRatio, Tensor rejectedRatio, double beta)
    {
        var chosenKl = chosenRatio.mean().clamp_min(LongLivedScalars.IntZero);
        var rejectedKl = rejectedRatio.mean().clamp_min(LongLivedScalars.IntZero);
        return cat([
            (chosenRatio - rejectedKl).MulScalar(beta).sigmoid().neg().add(LongLivedScalars.IntOne, LongLivedScalars.IntOne), // 1 − σ(β·…)
            (chosenKl - rejectedRatio).MulScalar(beta).sigmoid().neg().add(LongLivedScalars.IntOne, LongLivedScalars.IntOne),
        ], 0);
    }
}
