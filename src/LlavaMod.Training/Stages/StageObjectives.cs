using LlavaMod.Data.Text;
using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using LlavaMod.Models;
using LlavaMod.LogitCache;
using LlavaMod.Training.Data;
using LlavaMod.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Stages;

/// <summary>The loss of one training stage on one batch, with the metrics to log.</summary>
public interface IStageObjective : IDisposable
{
    (Tensor Loss, StepMetrics Metrics) Compute(LlavaModel model, TrainingBatch batch, Device device);
}

/// <summary>
/// Supervised and mimic objectives on supervised shards. The model runs its head only at the
/// positions whose next token is supervised (<c>lossPositionsOnly</c>), so logits are [N, V] for
/// the N supervised tokens of the batch, in row-major order — the order the logit cache stores.
/// <list type="bullet">
/// <item>sft: cross-entropy of the labels.</item>
/// <item>mimic / d2s: KL(teacher ‖ student) over the cached top-k + tail buckets (weight
/// <c>kl_weight</c>), plus <c>ce_weight</c> × cross-entropy, plus <c>aux_weight</c> × the MoE
/// load-balancing loss when the model has MoE layers (d2s: 1 : 1 : 0.01 in LLaVA-MoD).</item>
/// <item>mimic / d2s with an online teacher (LLaVA-MoD's original): the teacher runs in the step,
/// without gradients, over the same batch, and the KL is over the full vocabulary (or subset), not the
/// cached top-k + tail.</item>
/// </list>
/// The objective owns (and disposes) the cache and the online teacher.
/// </summary>
public sealed class SupervisedObjective(LossConfig loss, LogitCacheSet? cache, Func<LlavaModel, Tensor?>? auxLoss = null, LlavaModel? onlineTeacher = null) : IStageObjective
{
    /// <summary>Loads <paramref name="folder"/> as a frozen teacher for online mimic; its vocabulary (subset) must be the student's.</summary>
    public static LlavaModel LoadOnlineTeacher(string folder, LlavaModel student, Device device)
    {
        var teacher = Checkpoint.Load(folder, ScalarType.Float32, device);
        var (a, b) = (teacher.VocabSubset?.TokenIds, student.VocabSubset?.TokenIds);
        if (teacher.Config.Text.VocabSize != student.Config.Text.VocabSize || (a is null) != (b is null) || (a is not null && !a.SequenceEqual(b!)))
        {
            teacher.Dispose();
            throw LlavaModException.ForFile(folder, "the online teacher's vocabulary (size or subset) differs from the student's: the KL needs the same logit columns");
        }
        teacher.eval();
        foreach (var p in teacher.parameters()) p.requires_grad = false;
        return teacher;
    }

    public (Tensor Loss, StepMetrics Metrics) Compute(LlavaModel model, TrainingBatch batch, Device device)
    {
        var rows = (batch as SupervisedBatch ?? throw new ArgumentException($"the supervised objective takes a {nameof(SupervisedBatch)}", nameof(batch))).Rows;
        using var scope = torch.NewDisposeScope();
        // logits (N, V) at the N supervised positions, targets (N), rows (N): the contract every loss below takes.
        using var output = model.Forward(batch.ToModelBatch(model.Config.Vision, device), lossPositionsOnly: true);
        var ce = loss.CeAverage == CeAveraging.Row
            ? SupervisedCrossEntropy.RowAveraged(output.Logits, output.Targets!, output.Rows!, rows.Count)
            : SupervisedCrossEntropy.Compute(output.Logits, output.Targets!);
        double? kl = null, covered = null;
        Tensor total;
        if (onlineTeacher is not null)
        {
            Tensor teacherLogits;
            using (torch.no_grad())
            using (var teacherOutput = onlineTeacher.Forward(batch.ToModelBatch(onlineTeacher.Config.Vision, device), lossPositionsOnly: true))
            {
                if (!teacherOutput.Targets!.shape.SequenceEqual(output.Targets!.shape) || !(teacherOutput.Targets! == output.Targets!).all().item<bool>())
                    throw new LlavaModException($"the online teacher supervises other positions than the student (batch rows {batch.DescribeRows()})");
                teacherLogits = teacherOutput.Logits.detach(); // (N, V)
            }
            var divergence = FullVocabularyMimic.KlDivergence(output.Logits, teacherLogits);
            kl = divergence.item<float>();
            total = divergence.MulScalar(loss.KlWeight);
            if (loss.CeWeight > 0) total = total.Plus(ce.MulScalar(loss.CeWeight));
        }
        else if (cache is null)
        {
            total = ce;
        }
        else
        {
            using var teacher = cache.ReadTargets(rows.Select(e => new CachedRowRequest(e.Key, e.SupervisedCount)).ToList(),
                model.Config.Text.VocabSize, model.VocabSubset, device); // ids, log-probs (N, k); tail (N)
            var mimic = TopKTailMimic.Compute(output.Logits, teacher.Ids, teacher.LogProbs, teacher.TailLogMass);
            (kl, covered) = (mimic.Loss.item<float>(), mimic.TeacherCoveredMass);
            total = mimic.Loss.MulScalar(loss.KlWeight);
            if (loss.CeWeight > 0) total = total.Plus(ce.MulScalar(loss.CeWeight));
        }
        double? auxValue = null;
        var loads = new List<(string, double)>();
        if (auxLoss?.Invoke(model) is Tensor aux)
        {
            auxValue = aux.item<float>();
            total = total.Plus(aux.MulScalar(loss.AuxWeight));
            foreach (var layer in Models.Moe.MoeModelRouting.Loads(model.LanguageModel))
                for (int e = 0; e < layer.Kept.Length; e++)
                    loads.Add(($"load_l{layer.Layer}_e{e}", (double)layer.FirstChoice[e] / Math.Max(1, layer.Tokens)));
        }
        var metrics = new StepMetrics(total.item<float>(), output.Targets!.shape[0])
        {
            Ce = ce.item<float>(), Kl = kl, TeacherCoveredMass = covered, Aux = auxValue, ExpertLoads = loads,
        };
        return (total.MoveToOuterDisposeScope(), metrics);
    }

    public void Dispose()
    {
        cache?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        onlineTeacher?.Dispose();
    }
}
