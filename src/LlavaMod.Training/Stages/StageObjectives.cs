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
/// Supervised and mimic objectives on supervised shards. The model stops before its head at the
/// positions whose next token is supervised (<see cref="LlavaModel.LossHead"/>): hidden (N, D) for the N supervised
/// tokens of the batch, in row-major order — the order the logit cache stores — and every term below runs the head
/// fused with itself, in one pass over the vocabulary (<see cref="ChunkedHeadLoss"/>).
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
        // hidden (N, D) at the N supervised positions, the head matrix (V, D), targets (N), rows (N): the contract every loss below takes.
        using var head = model.LossHead(batch.ToModelBatch(model.Config.Vision, device));
        var tokenLogProbs = new TargetLogProbs(head.Targets);
        VocabularyChunkLoss? mimic = null;
        TopKTailMimic? cached = null;
        if (onlineTeacher is not null)
        {
            using (torch.no_grad())
            {
                using var teacherHead = onlineTeacher.LossHead(batch.ToModelBatch(onlineTeacher.Config.Vision, device));
                if (!teacherHead.Targets.shape.SequenceEqual(head.Targets.shape) || !(teacherHead.Targets == head.Targets).all().item<bool>())
                    throw new LlavaModException($"the online teacher supervises other positions than the student (batch rows {batch.DescribeRows()})");
                mimic = new FullVocabularyMimic(teacherHead.Head); // keeps its own references
            }
        }
        else if (cache is not null)
        {
            using var teacher = cache.ReadTargets(rows.Select(e => new CachedRowRequest(e.Key, e.SupervisedCount)).ToList(),
                model.Config.Text.VocabSize, model.VocabSubset, device); // ids, log-probs (N, k); tail (N)
            mimic = cached = new TopKTailMimic(teacher.Ids, teacher.LogProbs, teacher.TailLogMass);
        }
        // one pass of the fused head for every term: values (N) or (N, 2) = [token log-prob, mimic KL]
        var values = mimic is null
            ? ChunkedHeadLoss.Compute(head.Head, tokenLogProbs).unsqueeze(1)
            : ChunkedHeadLoss.Compute(head.Head, new CombinedChunkLoss(tokenLogProbs, mimic));
        var logProbs = values.select(1, 0); // (N)
        var ce = loss.CeAverage == CeAveraging.Row
            ? SupervisedCrossEntropy.RowAveraged(logProbs, head.Rows, rows.Count)
            : SupervisedCrossEntropy.Compute(logProbs);
        double? kl = null, covered = cached?.TeacherCoveredMass;
        Tensor total = ce;
        if (mimic is not null)
        {
            var divergence = FullVocabularyMimic.MeanOverPositions(values.select(1, 1));
            kl = divergence.item<float>();
            total = divergence.MulScalar(loss.KlWeight);
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
        var metrics = new StepMetrics(total.item<float>(), head.Targets.shape[0])
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
