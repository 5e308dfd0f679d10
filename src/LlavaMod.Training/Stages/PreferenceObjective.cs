using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Training.Data;
using LlavaMod.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Stages;

/// <summary>
/// Preference distillation (pd) on a batch of pairs: the policy's summed response log-probs
/// against the teacher's stored ones, through <see cref="PreferenceLoss"/> (kto_pair by default, as
/// LLaVA-MoD; sigmoid = DPO, with label smoothing = conservative DPO; hsa_dpo weighs the rejected
/// side by severity; ipo on mean token log-probs; hinge), plus the optional RPO term.
/// </summary>
public sealed class PreferenceObjective(LossConfig loss) : IStageObjective
{
    public (Tensor Loss, StepMetrics Metrics) Compute(LlavaModel model, TrainingBatch batch, Device device)
    {
        var pairs = (batch as PairBatch ?? throw new ArgumentException($"the preference objective takes a {nameof(PairBatch)}", nameof(batch))).Pairs;
        using var scope = torch.NewDisposeScope();
        // Each sequence is prompt + response (labels on the response): score the responses given their prompts.
        var sequences = batch.Sequences;
        var prompts = sequences.Select(e => e.PromptOnly()).ToList();
        var responses = sequences.Select((e, i) => e.InputIds[prompts[i].InputIds.Length..]).ToList();
        var sums = SequenceScorer.SumLogProbs(model, batch.ToModelBatch(model.Config.Vision, device, prompts), responses) // (2P)
            .view(pairs.Count, 2);                                                                                       // (P, 2): chosen, rejected
        var counts = tensor(responses.Select(r => (long)r.Length).ToArray(), device: device).view(pairs.Count, 2);       // (P, 2)
        var result = PreferenceLoss.Compute(new PreferenceBatch(
                sums.select(1, 0), sums.select(1, 1),
                tensor(pairs.Select(p => p.RefChosenLogp).ToArray(), device: device).to(sums.dtype),   // (P)
                tensor(pairs.Select(p => p.RefRejectedLogp).ToArray(), device: device).to(sums.dtype), // (P)
                tensor(pairs.Select(p => p.Severity).ToArray(), device: device).to(sums.dtype),        // (P)
                counts.select(1, 0), counts.select(1, 1)),
            new PreferenceLossOptions(loss.Preference, loss.Beta, loss.RpoWeight, loss.PreferenceWeight, loss.LabelSmoothing));
        var metrics = new StepMetrics(result.Loss.item<float>(), counts.sum().item<long>()) { Preference = result.Metrics };
        return (result.Loss.MoveToOuterDisposeScope(), metrics);
    }

    public void Dispose() { }
}
