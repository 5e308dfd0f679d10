using LlavaMod.Models.Runtime;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Training.Data;
using LlavaMod.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Stages;

/// <summary>
/// Preference distillation (pd) on a batch of interleaved chosen/rejected sequences: the policy's
/// summed response log-probs against the teacher's stored ones, through <see cref="PreferenceLoss"/>
/// (kto_pair by default, as LLaVA-MoD; sigmoid = DPO; hsa_dpo weighs the rejected side by severity;
/// ipo), plus the optional RPO term.
/// </summary>
public sealed class PreferenceObjective(LossConfig loss, IReadOnlyDictionary<string, TrainingPair> pairsByChosenKey) : IStageObjective
{
    public (Tensor Loss, Dictionary<string, double> Metrics) Compute(LlavaModel model, IReadOnlyList<SupervisedExample> batch, Device device)
    {
        using var scope = torch.NewDisposeScope();
        // Each sequence is prompt + response (labels on the response): score the responses given their prompts.
        var prompts = batch.Select(e => e.PromptOnly()).ToList();
        var responses = batch.Select((e, i) => e.InputIds[prompts[i].InputIds.Length..]).ToList();
        var sums = SequenceScorer.SumLogProbs(model, SupervisedExample.ToBatch(prompts, model.Config.Vision, device), responses);
        var counts = torch.tensor(responses.Select(r => (long)r.Length).ToArray(), device: device);
        var pairs = Enumerable.Range(0, batch.Count / 2).Select(i => pairsByChosenKey[batch[2 * i].Key]).ToList();
        var chosenIndex = ScalarOps.Arange(0, batch.Count, 2, dtype: ScalarType.Int64, device: device);
        var result = PreferenceLoss.Compute(new PreferenceBatch(
                sums.index_select(0, chosenIndex),
                sums.index_select(0, chosenIndex.add(LongLivedScalars.IntOne)),
                torch.tensor(pairs.Select(p => p.RefChosenLogp).ToArray(), device: device).to(sums.dtype),
                torch.tensor(pairs.Select(p => p.RefRejectedLogp).ToArray(), device: device).to(sums.dtype),
                torch.tensor(pairs.Select(p => p.Severity).ToArray(), device: device).to(sums.dtype),
                counts.index_select(0, chosenIndex)),
            new PreferenceLossOptions(loss.Preference, loss.Beta, loss.RpoWeight, loss.PreferenceWeight));
        var m = result.Metrics;
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = result.Loss.item<float>(),
            ["preference"] = m.PreferenceTerm,
            ["chosen_nll"] = m.ChosenNll,
            ["reward_chosen"] = m.RewardChosen,
            ["reward_rejected"] = m.RewardRejected,
            ["reward_margin"] = m.RewardMargin,
            ["reward_accuracy"] = m.RewardAccuracy,
            ["tokens"] = counts.sum().item<long>(),
        };
        return (result.Loss.MoveToOuterDisposeScope(), metrics);
    }

    public void Dispose() { }
}
