using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Generation;

/// <summary>
/// Batched autoregressive generation for <see cref="Qwen2ForCausalLM"/> and <see cref="LlavaModel"/>.
/// Prompts are left-padded (positions count real tokens only), prefilled once, then fanned out to
/// <see cref="GenerationOptions.SamplesPerPrompt"/> rows and decoded step by step with a
/// <see cref="KvCache"/> (or, with UseCache off, by re-running the full sequence). The model runs in
/// eval mode without gradients and is put back in its previous mode afterwards.
/// MoE layers route all rows of a step together; in eval mode with E = 4, k = 2 and eval capacity
/// factor ≥ 2 nothing can be dropped, so routing per token does not depend on the batch.
/// </summary>
public static class TextGenerator
{
    /// <summary>Generates from token-id prompts (no images).</summary>
    public static IReadOnlyList<GeneratedSequence> Generate(Qwen2ForCausalLM model, IReadOnlyList<long[]> prompts, GenerationOptions options,
        Func<long[], string>? decode = null, VocabSubset? subset = null)
    {
        if (prompts.Count == 0 || prompts.Any(p => p.Length == 0)) throw new LlavaModException("generation needs at least one non-empty prompt");
        foreach (var (p, i) in prompts.Select((p, i) => (p, i)))
            if (p.Any(id => id < 0 || id >= model.Config.VocabSize))
                throw new LlavaModException($"prompt {i}: token ids must be in 0..{model.Config.VocabSize - 1} (image placeholders need a LLaVA model)");
        using var scope = NewDisposeScope();
        var device = model.HeadWeight.device;
        int b = prompts.Count, t = prompts.Max(p => p.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        for (int r = 0; r < b; r++)
            for (int j = 0; j < prompts[r].Length; j++)
            {
                int column = t - prompts[r].Length + j;
                ids[r * t + column] = prompts[r][j];
                mask[r * t + column] = 1;
            }
        using var noGrad = no_grad();
        var embeds = model.Model.Embed(tensor(ids, device: device).view(b, t));
        return Run(model, embeds, tensor(mask, device: device).view(b, t), options, decode, subset);
    }

    /// <summary>Generates from LLaVA prompts: ids with -200 image placeholders and their images in <paramref name="prompts"/>.</summary>
    public static IReadOnlyList<GeneratedSequence> Generate(LlavaModel model, LlavaBatch prompts, GenerationOptions options, Func<long[], string>? decode = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var inputs = model.Prepare(prompts);
            var (embeds, mask) = LeftAlign(inputs.Embeds, inputs.AttentionMask, inputs.Lengths);
            return Run(model.LanguageModel, embeds, mask, options, decode, model.VocabSubset);
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>Moves each right-padded row's real positions to the end of the row.</summary>
    static (Tensor Embeds, Tensor Mask) LeftAlign(Tensor embeds, Tensor mask, int[] lengths)
    {
        long b = embeds.shape[0], t = embeds.shape[1];
        var index = new long[b * t];
        var leftMask = new long[b * t];
        for (int r = 0; r < b; r++)
        {
            long shift = t - lengths[r];
            for (long j = 0; j < t; j++)
            {
                bool real = j >= shift;
                index[r * t + j] = real ? j - shift : 0;
                leftMask[r * t + j] = real ? 1 : 0;
            }
        }
        var gather = tensor(index, device: embeds.device).view(b, t, 1).expand(b, t, embeds.shape[2]);
        var aligned = embeds.gather(1, gather) * tensor(leftMask, device: embeds.device).view(b, t, 1).to(embeds.dtype);
        return (aligned, tensor(leftMask, device: mask.device).view(b, t));
    }

    static IReadOnlyList<GeneratedSequence> Run(Qwen2ForCausalLM model, Tensor promptEmbeds, Tensor promptMask, GenerationOptions options,
        Func<long[], string>? decode, VocabSubset? subset)
    {
        options.Validate();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return Decode(model, promptEmbeds, promptMask, options, decode, subset);
        }
        finally { model.train(wasTraining); }
    }

    static IReadOnlyList<GeneratedSequence> Decode(Qwen2ForCausalLM model, Tensor promptEmbeds, Tensor promptMask, GenerationOptions options,
        Func<long[], string>? decode, VocabSubset? subset)
    {
        var device = promptEmbeds.device;
        int prompts = (int)promptEmbeds.shape[0], samples = options.SamplesPerPrompt, rows = prompts * samples;
        var positions = promptMask.cumsum(1).sub(LongLivedScalars.IntOne).clamp_min(LongLivedScalars.IntZero);
        using var cache = options.UseCache ? model.NewCache() : null;

        // Prefill once per prompt, then fan out to the samples.
        var logits = NextLogits(model, model.Model.Forward(promptEmbeds, promptMask, positions, cache), subset);
        var fanOut = ScalarOps.Arange(prompts, device: device).repeat_interleave(samples);
        logits = logits.index_select(0, fanOut);
        var mask = promptMask.index_select(0, fanOut);
        var lastPosition = positions[.., ^1..].index_select(0, fanOut);
        Tensor? embeds = cache is null ? promptEmbeds.index_select(0, fanOut) : null;
        Tensor? allPositions = cache is null ? positions.index_select(0, fanOut) : null;
        cache?.SelectRows(fanOut);

        if (options.PromptSeeds is { } promptSeeds && promptSeeds.Count != prompts)
            throw new LlavaModException($"{promptSeeds.Count} prompt seeds for {prompts} prompts");
        var seeds = Enumerable.Range(0, rows).Select(r => (options.PromptSeeds?[r / samples] ?? options.Seed) + (ulong)(r % samples)).ToArray();
        var generators = seeds.Select(s => new torch.Generator(s)).ToArray();
        var stop = options.StopTokenIds.ToHashSet();
        var tokens = Enumerable.Range(0, rows).Select(_ => new List<long>()).ToArray();
        var logProbs = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var finished = new bool[rows];

        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var columns = TokenSampler.Choose(logits, options, generators);
            var chosenLogProbs = nn.functional.log_softmax(logits, -1)
                .gather(1, tensor(columns, device: logits.device).unsqueeze(1)).squeeze(1).cpu().data<float>().ToArray();
            var next = new long[rows];
            for (int r = 0; r < rows; r++)
            {
                next[r] = subset is null ? columns[r] : subset.TokenIdAt((int)columns[r]);
                if (finished[r]) continue;
                tokens[r].Add(next[r]);
                logProbs[r].Add(chosenLogProbs[r]);
                if (stop.Contains(next[r])) finished[r] = true;
            }
            if (finished.All(f => f) || step == options.MaxNewTokens - 1) break;

            var nextEmbeds = model.Model.Embed(tensor(next, device: device).view(rows, 1));
            var newMask = cat([mask, ones(rows, 1, dtype: mask.dtype, device: device)], 1);
            var newLast = lastPosition.add(LongLivedScalars.IntOne, LongLivedScalars.IntOne); // (value, alpha): add(scalar) alone makes a temporary alpha
            Tensor hidden;
            if (cache is not null) hidden = model.Model.Forward(nextEmbeds, newMask, newLast, cache);
            else
            {
                var grownEmbeds = cat([embeds!, nextEmbeds], 1);
                var grownPositions = cat([allPositions!, newLast], 1);
                hidden = model.Model.Forward(grownEmbeds, newMask, grownPositions, null);
                Swap(ref embeds!, grownEmbeds);
                Swap(ref allPositions!, grownPositions);
            }
            Swap(ref logits, NextLogits(model, hidden, subset));
            Swap(ref mask, newMask);
            Swap(ref lastPosition, newLast);
        }

        return Enumerable.Range(0, rows).Select(r =>
        {
            var ids = tokens[r].ToArray();
            bool stopped = finished[r];
            var textIds = stopped ? ids[..^1] : ids;
            return new GeneratedSequence(r / samples, r % samples, seeds[r], ids, logProbs[r].ToArray(), stopped ? "stop" : "length", decode?.Invoke(textIds));
        }).ToArray();
    }

    /// <summary>fp32 logits [R, V] of the last position.</summary>
    static Tensor NextLogits(Qwen2ForCausalLM model, Tensor hidden, VocabSubset? subset) =>
        model.Logits(hidden[.., ^1], subset);

    /// <summary>Keeps <paramref name="next"/> beyond the current step's dispose scope and frees the tensor it replaces.</summary>
    static void Swap(ref Tensor current, Tensor next)
    {
        next.MoveToOuterDisposeScope();
        current.Dispose();
        current = next;
    }
}
