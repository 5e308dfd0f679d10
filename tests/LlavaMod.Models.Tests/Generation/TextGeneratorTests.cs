using LlavaMod.Models.Generation;
using LlavaMod.Models.Moe;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Generation;

public class TextGeneratorTests
{
    public TextGeneratorTests() => TorchRuntime.EnsureLoaded();

    static readonly long[][] Prompts = [[5, 17, 3, 44, 9], [12], [7, 7, 30]];

    static GenerationOptions Greedy(int tokens = 12) => new() { MaxNewTokens = tokens };
    static GenerationOptions Sampling(ulong seed, int samples = 3) => new() { MaxNewTokens = 10, Temperature = 1.0, SamplesPerPrompt = samples, Seed = seed };

    static long[][] Ids(IReadOnlyList<GeneratedSequence> s) => s.Select(x => x.TokenIds).ToArray();

    [Fact]
    public void Greedy_with_and_without_cache_agree_and_batching_does_not_change_a_prompt()
    {
        var model = TinyModels.Qwen2();
        var cached = TextGenerator.Generate(model, Prompts, Greedy());
        var uncached = TextGenerator.Generate(model, Prompts, Greedy() with { UseCache = false });
        Assert.Equal(Ids(cached), Ids(uncached));
        for (int i = 0; i < Prompts.Length; i++)
        {
            var alone = TextGenerator.Generate(model, [Prompts[i]], Greedy())[0];
            Assert.Equal(alone.TokenIds, cached[i].TokenIds);
            Assert.Equal(alone.TokenLogProbs, cached[i].TokenLogProbs, (a, b) => Math.Abs(a - b) < 1e-4);
            Assert.Equal(cached[i].TokenLogProbs, uncached[i].TokenLogProbs, (a, b) => Math.Abs(a - b) < 1e-4);
        }
    }

    [Fact]
    public void Greedy_tokens_are_the_argmax_of_a_full_forward_at_each_step()
    {
        var model = TinyModels.Qwen2();
        var generated = TextGenerator.Generate(model, [Prompts[0]], Greedy(6))[0];
        using var _ = no_grad();
        var full = Prompts[0].Concat(generated.TokenIds).ToArray();
        var logits = model.Forward(tensor(full).unsqueeze(0))[0];
        var argmax = logits.argmax(-1).data<long>().ToArray();
        for (int i = 0; i < generated.TokenIds.Length; i++)
            Assert.Equal(argmax[Prompts[0].Length - 1 + i], generated.TokenIds[i]);
    }

    [Fact]
    public void Same_seed_gives_the_same_samples_and_other_seeds_differ()
    {
        var model = TinyModels.Qwen2();
        var a = TextGenerator.Generate(model, Prompts, Sampling(42));
        var b = TextGenerator.Generate(model, Prompts, Sampling(42));
        var c = TextGenerator.Generate(model, Prompts, Sampling(43));
        Assert.Equal(Ids(a), Ids(b));
        Assert.NotEqual(Ids(a), Ids(c));
        Assert.Equal(9, a.Count);
        Assert.Equal([42UL, 43, 44], a.Where(s => s.PromptIndex == 1).Select(s => s.Seed));
        // The samples of one prompt differ from each other (own generator per sample).
        Assert.Equal(3, a.Where(s => s.PromptIndex == 0).Select(s => string.Join(",", s.TokenIds)).Distinct().Count());
        // A sample does not depend on the other prompts of the batch.
        var alone = TextGenerator.Generate(model, [Prompts[2]], Sampling(42));
        Assert.Equal(Ids(alone), Ids(a.Where(s => s.PromptIndex == 2).ToArray()));
    }

    [Fact]
    public void Per_prompt_seeds_make_each_prompt_sample_as_if_it_were_alone()
    {
        var model = TinyModels.Qwen2();
        ulong[] seeds = [1000, 7, 123456789];
        var batched = TextGenerator.Generate(model, Prompts, Sampling(0) with { PromptSeeds = seeds });
        for (int p = 0; p < Prompts.Length; p++)
        {
            var alone = TextGenerator.Generate(model, [Prompts[p]], Sampling(seeds[p]));
            Assert.Equal(Ids(alone), Ids(batched.Where(s => s.PromptIndex == p).ToArray()));
        }
        Assert.Throws<LlavaMod.Core.LlavaModException>(() => TextGenerator.Generate(model, Prompts, Sampling(0) with { PromptSeeds = [1] }));
    }

    [Fact]
    public void Top_k_1_and_a_tiny_top_p_sample_the_greedy_sequence()
    {
        var model = TinyModels.Qwen2();
        var greedy = Ids(TextGenerator.Generate(model, Prompts, Greedy(8)));
        var topK = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 2.0, TopK = 1, Seed = 3 });
        var topP = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 2.0, TopP = 1e-6, Seed = 3 });
        Assert.Equal(greedy, Ids(topK));
        Assert.Equal(greedy, Ids(topP));
    }

    [Fact]
    public void Top_p_keeps_the_smallest_nucleus_reaching_the_mass()
    {
        using var logits = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f) }).unsqueeze(0);
        var kept = TokenSampler.Filter(logits, 1.0, 0, 0.75).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { true, true, false, false }, kept); // 0.5 < 0.75 ≤ 0.5 + 0.3
        var top3 = TokenSampler.Filter(logits, 1.0, 3, 1.0).isfinite().data<bool>().ToArray();
        Assert.Equal(new[] { true, true, true, false }, top3);
    }

    [Fact]
    public void Generation_stops_after_a_stop_token_and_decodes_without_it()
    {
        var model = TinyModels.Qwen2();
        var free = TextGenerator.Generate(model, [Prompts[0]], Greedy(10))[0];
        long stopId = free.TokenIds[3];
        int firstStop = Array.IndexOf(free.TokenIds, stopId);
        var stopped = TextGenerator.Generate(model, [Prompts[0]], Greedy(10) with { StopTokenIds = [stopId] },
            ids => string.Join(" ", ids))[0];
        Assert.Equal("stop", stopped.FinishReason);
        Assert.Equal(free.TokenIds[..(firstStop + 1)], stopped.TokenIds);
        Assert.Equal(string.Join(" ", free.TokenIds[..firstStop]), stopped.Text);
        Assert.Equal("length", free.FinishReason);
        Assert.Equal(10, free.TokenIds.Length);
    }

    [Fact]
    public void Generated_log_probs_equal_teacher_forced_scores()
    {
        var model = TinyModels.Qwen2();
        var samples = TextGenerator.Generate(model, Prompts, Sampling(7, samples: 2));
        var scores = SequenceScorer.LogProbs(model, samples.Select(s => (Prompts[s.PromptIndex], s.TokenIds)).ToArray());
        for (int i = 0; i < samples.Count; i++)
        {
            Assert.Equal(samples[i].TokenIds.Length, scores[i].Count);
            Assert.Equal(samples[i].LogProbSum, scores[i].Sum, 3);
        }
    }

    [Fact]
    public void Upcycled_model_generates_what_the_dense_model_generates()
    {
        var model = TinyModels.Qwen2();
        var dense = TextGenerator.Generate(model, Prompts, Greedy());
        MoeUpcycler.Upcycle(model, new MoeConfig { CapacityFactor = 1.5, EvalCapacityFactor = 2.0, MinCapacity = 4 }, new torch.Generator(1));
        var moe = TextGenerator.Generate(model, Prompts, Greedy());
        Assert.Equal(Ids(dense), Ids(moe));
    }
}
