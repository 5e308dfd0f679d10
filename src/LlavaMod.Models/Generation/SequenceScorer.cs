using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Generation;

/// <summary>Teacher-forced log-probability of a response given its prompt: the sum over response tokens and their count.</summary>
public sealed record SequenceLogProb(double Sum, int Count, float[] TokenLogProbs);

/// <summary>
/// Teacher-forced scoring: log p(response | prompt) = Σ_i log softmax(logits at the position before
/// response token i)[token i], over the full vocabulary (or the model's vocabulary subset), with the head fused into the
/// log-softmax (<see cref="ChunkedHeadLoss"/>, <see cref="TargetLogProbs"/>). Used
/// for DPO reference log-probs and to check generation. The tensor versions keep the autograd
/// graph (policy log-probs); the others run without gradients in eval mode.
/// </summary>
public static class SequenceScorer
{
    /// <summary>Log-prob of one response under a text-only model.</summary>
    public static SequenceLogProb LogProbs(Qwen2ForCausalLM model, long[] prompt, long[] response) =>
        LogProbs(model, [(prompt, response)])[0];

    /// <summary>Log-probs of several (prompt, response) pairs, batched with right padding.</summary>
    public static IReadOnlyList<SequenceLogProb> LogProbs(Qwen2ForCausalLM model, IReadOnlyList<(long[] Prompt, long[] Response)> pairs, VocabSubset? subset = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var (perToken, rows) = TokenLogProbTensor(model, pairs, subset);
            return Collect(perToken.cpu().data<float>().ToArray(), rows, pairs.Count);
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>Log-probs of responses under a LLaVA model; <paramref name="prompts"/> carries the prompt ids (with image placeholders) and images.</summary>
    public static IReadOnlyList<SequenceLogProb> LogProbs(LlavaModel model, LlavaBatch prompts, IReadOnlyList<long[]> responses)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var (perToken, rows) = TokenLogProbTensor(model, prompts, responses);
            return Collect(perToken.cpu().data<float>().ToArray(), rows, responses.Count);
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>Summed response log-probs [B] with the autograd graph (for policy terms of preference losses).</summary>
    public static Tensor SumLogProbs(LlavaModel model, LlavaBatch prompts, IReadOnlyList<long[]> responses)
    {
        using var scope = NewDisposeScope();
        var (perToken, rows) = TokenLogProbTensor(model, prompts, responses);
        var index = tensor(rows, device: perToken.device);
        return zeros(responses.Count, dtype: ScalarType.Float32, device: perToken.device).index_add(0, index, perToken, LongLivedScalars.IntOne).MoveToOuterDisposeScope();
    }

    /// <summary>Per response token: its log-prob and its row (LLaVA's loss-position path, so image splicing and vocab subsets match training).</summary>
    static (Tensor PerToken, long[] Rows) TokenLogProbTensor(LlavaModel model, LlavaBatch prompts, IReadOnlyList<long[]> responses)
    {
        if (responses.Count != prompts.InputIds.Count) throw new LlavaModException($"{prompts.InputIds.Count} prompts but {responses.Count} responses");
        if (responses.Any(r => r.Length == 0)) throw new LlavaModException("every response needs at least one token");
        var batch = new LlavaBatch
        {
            InputIds = prompts.InputIds.Select((p, i) => p.Concat(responses[i]).ToArray()).ToArray(),
            Labels = prompts.InputIds.Select((p, i) => Enumerable.Repeat(LlavaBatch.IgnoreIndex, p.Length).Concat(responses[i]).ToArray()).ToArray(),
            PixelValues = prompts.PixelValues,
            ImageFeatures = prompts.ImageFeatures,
        };
        using var head = model.LossHead(batch);
        var perToken = ChunkedHeadLoss.Compute(head.Head, new TargetLogProbs(head.Targets)); // (N)
        return (perToken, head.Rows);
    }

    static (Tensor PerToken, long[] Rows) TokenLogProbTensor(Qwen2ForCausalLM model, IReadOnlyList<(long[] Prompt, long[] Response)> pairs, VocabSubset? subset)
    {
        if (pairs.Count == 0) throw new LlavaModException("nothing to score");
        if (pairs.Any(p => p.Prompt.Length == 0 || p.Response.Length == 0)) throw new LlavaModException("every prompt and response needs at least one token");
        using var scope = NewDisposeScope();
        var device = model.HeadWeight.device;
        int b = pairs.Count, t = pairs.Max(p => p.Prompt.Length + p.Response.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var flatPositions = new List<long>();
        var targets = new List<long>();
        var rows = new List<long>();
        for (int r = 0; r < b; r++)
        {
            var full = pairs[r].Prompt.Concat(pairs[r].Response).ToArray();
            for (int j = 0; j < full.Length; j++) { ids[r * t + j] = full[j]; mask[r * t + j] = 1; }
            for (int j = pairs[r].Prompt.Length; j < full.Length; j++)
            {
                flatPositions.Add((long)r * t + j - 1);
                targets.Add(full[j]);
                rows.Add(r);
            }
        }
        var hidden = model.Hidden(tensor(ids, device: device).view(b, t), tensor(mask, device: device).view(b, t));
        var selected = hidden.reshape(b * t, hidden.shape[2]).index_select(0, tensor(flatPositions.ToArray(), device: device));
        long[] mapped = subset?.MapTargets(targets.ToArray()) ?? targets.ToArray();
        var perToken = ChunkedHeadLoss.Compute(new HeadInputs(selected, model.HeadMatrix(subset)), new TargetLogProbs(tensor(mapped, device: device))); // (N)
        return (perToken.MoveToOuterDisposeScope(), rows.ToArray());
    }

    static IReadOnlyList<SequenceLogProb> Collect(float[] perToken, long[] rows, int count)
    {
        var lists = Enumerable.Range(0, count).Select(_ => new List<float>()).ToArray();
        for (int i = 0; i < perToken.Length; i++) lists[rows[i]].Add(perToken[i]);
        return lists.Select(l => new SequenceLogProb(l.Sum(p => (double)p), l.Count, l.ToArray())).ToArray();
    }
}
