using LlavaMod.Models.Generation;
using LlavaMod.Models.Runtime;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Generation;

public class SequenceScorerTests
{
    public SequenceScorerTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Σ log_softmax(full forward)[t-1, token t] over the response positions, computed directly.</summary>
    static double DirectSum(Qwen2ForCausalLM model, long[] prompt, long[] response)
    {
        using var _ = no_grad();
        var full = prompt.Concat(response).ToArray();
        var logProbs = nn.functional.log_softmax(model.Forward(tensor(full).unsqueeze(0))[0].to(ScalarType.Float64), -1);
        double sum = 0;
        for (int i = 0; i < response.Length; i++) sum += logProbs[prompt.Length - 1 + i, response[i]].item<double>();
        return sum;
    }

    [Fact]
    public void Batched_scores_equal_the_sum_of_per_step_log_softmax_of_unpadded_forwards()
    {
        var model = TinyModels.Qwen2();
        (long[], long[])[] pairs = [([1, 2, 3], [4, 5]), ([9], [10, 11, 12, 13]), ([20, 21, 22, 23, 24], [25])];
        var scores = SequenceScorer.LogProbs(model, pairs);
        for (int i = 0; i < pairs.Length; i++)
        {
            Assert.Equal(pairs[i].Item2.Length, scores[i].Count);
            Assert.Equal(DirectSum(model, pairs[i].Item1, pairs[i].Item2), scores[i].Sum, 4);
        }
    }

    [Fact]
    public void Llava_scores_of_text_prompts_equal_the_language_model_scores()
    {
        var llava = TinyModels.Llava();
        long[][] prompts = [[3, 4, 5], [6]];
        long[][] responses = [[7, 8], [9, 10, 11]];
        var viaLlava = SequenceScorer.LogProbs(llava, new Models.LlavaBatch { InputIds = prompts }, responses);
        var direct = SequenceScorer.LogProbs(llava.LanguageModel, prompts.Zip(responses).ToArray());
        for (int i = 0; i < 2; i++) Assert.Equal(direct[i].Sum, viaLlava[i].Sum, 4);
        var withGraph = SequenceScorer.SumLogProbs(llava, new Models.LlavaBatch { InputIds = prompts }, responses);
        Assert.True(withGraph.requires_grad);
        Assert.Equal(direct[1].Sum, withGraph[1].item<float>(), 4);
    }

    [Fact]
    public void Llava_generation_with_an_image_is_reproducible_and_scores_match()
    {
        var llava = TinyModels.Llava();
        var pixels = randn([1, 3, 28, 28], generator: new TorchSharp.torch.Generator(2));
        var prompts = new Models.LlavaBatch { InputIds = [[3, Models.LlavaBatch.ImageTokenIndex, 5, 6]], PixelValues = pixels };
        var options = new GenerationOptions { MaxNewTokens = 6, Temperature = 0.8, Seed = 5, SamplesPerPrompt = 2 };
        var a = TextGenerator.Generate(llava, prompts, options);
        var b = TextGenerator.Generate(llava, prompts, options);
        Assert.Equal(a.Select(s => s.TokenIds), b.Select(s => s.TokenIds));
        var uncached = TextGenerator.Generate(llava, prompts, options with { UseCache = false });
        Assert.Equal(a.Select(s => s.TokenIds), uncached.Select(s => s.TokenIds));
        var scores = SequenceScorer.LogProbs(llava, new Models.LlavaBatch { InputIds = [prompts.InputIds[0], prompts.InputIds[0]], PixelValues = cat([pixels, pixels]) },
            a.Select(s => s.TokenIds).ToArray());
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].LogProbSum, scores[i].Sum, 3);
    }
}
