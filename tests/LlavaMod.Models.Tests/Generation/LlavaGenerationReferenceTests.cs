using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using LlavaMod.Models.Generation;
using LlavaMod.Models.Tests.Reference;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Generation;

/// <summary>
/// TextGenerator's LLaVA path (splice, left-align, prefill, KV cache, stop) against an independent greedy loop in
/// PyTorch 1.13 (the answering benchmark's peer, Reference/llava_generate_reference.py) on the same weights.
/// </summary>
public class LlavaGenerationReferenceTests
{
    public LlavaGenerationReferenceTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Greedy_llava_answers_equal_pytorchs_token_for_token()
    {
        var subset = new VocabSubset(Enumerable.Range(0, 40).Select(i => 1000 + 37 * i));
        using var model = Initialization.NewLlava(ModelPresets.Get("demo-student"), seed: 5);
        model.VocabSubset = subset;
        model.LanguageModel.CompactTo(subset);
        // different lengths (left padding), the image first, in the middle, last, and twice in one row
        long I = LlavaBatch.ImageTokenIndex;
        long T(int i) => subset.TokenIdAt(i);
        long[][] prompts = [[I, T(1), T(2), T(3)], [T(4), T(5), I, T(6), T(7), T(8), T(9), T(10)], [T(11), I],
            [T(12), I, T(13), I, T(14)], [T(15), T(16), T(17), I, T(18), T(19)]];
        int images = prompts.Sum(p => p.Count(id => id == I));
        using var generator = new TorchSharp.torch.Generator(11);
        using var pixels = rand([images, 3, 48, 48], generator: generator).MulScalar(2.0).SubScalar(1.0);
        var batch = new LlavaBatch { InputIds = prompts, PixelValues = pixels };

        var free = TextGenerator.Generate(model, batch, new GenerationOptions { MaxNewTokens = 12 });
        long stop = free[1].TokenIds[4]; // row 1 stops at step 5 at the latest; others as they meet it
        var ours = TextGenerator.Generate(model, batch, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [stop] });
        Assert.Contains(ours, g => g.FinishReason == "stop");

        string dir = Directory.CreateTempSubdirectory("llavamod-gen-ref-").FullName;
        try
        {
            string weights = Path.Combine(dir, "weights.safetensors");
            SafeTensorsFile.Write(weights, model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
            var result = PythonReference.Run("llava_generate_reference.py", new
            {
                weights, subset = subset.TokenIds, prompts, stop = new[] { stop }, max_new_tokens = 12,
                pixels = pixels.data<float>().ToArray(),
            });
            var theirs = result["tokens"]!.AsArray().Select(row => PythonReference.Longs(row!)).ToArray();
            Assert.Equal(ours.Select(g => g.TokenIds).ToArray(), theirs);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
