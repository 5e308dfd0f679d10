using LlavaMod.Core;

namespace LlavaMod.Models.Generation;

/// <summary>
/// How <see cref="TextGenerator"/> decodes. Temperature 0 means greedy (argmax, first index on
/// ties); otherwise logits are divided by the temperature, filtered by top-k then top-p (Hugging
/// Face's order) and sampled. Sample s of every prompt draws from its own torch.Generator seeded
/// with <see cref="Seed"/> + s, so a sample does not depend on which other prompts share its batch.
/// </summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; }
    /// <summary>Nucleus mass in (0, 1]; 1 disables the filter.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Keep only the k most likely tokens; 0 disables the filter.</summary>
    public int TopK { get; init; }
    /// <summary>Generation of a sequence ends after it emits one of these ids (the id is kept in the output).</summary>
    public IReadOnlyList<long> StopTokenIds { get; init; } = [];
    public int SamplesPerPrompt { get; init; } = 1;
    public ulong Seed { get; init; }
    /// <summary>Optional seed per prompt (one per prompt of the call): sample s of prompt p then uses PromptSeeds[p] + s,
    /// so a prompt's samples depend only on its own seed, whatever else is in the batch.</summary>
    public IReadOnlyList<ulong>? PromptSeeds { get; init; }
    /// <summary>Decode with a KV cache (default) or by re-running the whole sequence each step.</summary>
    public bool UseCache { get; init; } = true;

    public bool Greedy => Temperature <= 0;

    public void Validate()
    {
        if (MaxNewTokens < 1) throw new LlavaModException($"--max-new-tokens must be ≥ 1 (got {MaxNewTokens})");
        if (double.IsNaN(Temperature) || Temperature < 0) throw new LlavaModException($"--temperature must be ≥ 0 (got {Temperature})");
        if (!(TopP > 0 && TopP <= 1)) throw new LlavaModException($"--top-p must be in (0, 1] (got {TopP})");
        if (TopK < 0) throw new LlavaModException($"--top-k must be ≥ 0 (got {TopK})");
        if (SamplesPerPrompt < 1) throw new LlavaModException($"--samples must be ≥ 1 (got {SamplesPerPrompt})");
        if (Greedy && SamplesPerPrompt > 1)
            throw new LlavaModException("several samples per prompt need --temperature > 0 (greedy decoding gives identical samples)");
    }
}

/// <summary>
/// One generated continuation. <see cref="TokenLogProbs"/>[i] is log p(token i | prefix) under the
/// model itself (temperature 1, no top-k/top-p filtering), so sums are comparable with
/// <see cref="SequenceScorer"/>. <see cref="FinishReason"/> is "stop" (a stop id was emitted, and is
/// the last token) or "length". <see cref="Text"/> is the decoded text without the stop token.
/// </summary>
public sealed record GeneratedSequence(int PromptIndex, int SampleIndex, ulong Seed, long[] TokenIds, float[] TokenLogProbs, string FinishReason, string? Text)
{
    public double LogProbSum => TokenLogProbs.Sum(p => (double)p);
}
