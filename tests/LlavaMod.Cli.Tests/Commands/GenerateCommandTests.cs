using System.Diagnostics;
using System.Text.Json.Nodes;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Cli.Tests.Commands;

public class GenerateCommandTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llavamod-generate-cli-").FullName;

    public GenerateCommandTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A tiny random Qwen2 folder (no tokenizer files: the CLI falls back to the bundled Qwen tokenizer).</summary>
    Qwen2ForCausalLM SaveTinyModel()
    {
        var model = new Qwen2ForCausalLM(new Qwen2Config
        {
            VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, RopeTheta = 10000,
        });
        var g = new torch.Generator(3);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                p.copy_(randn(p.shape, generator: g).MulScalar(0.2).AddScalar(name.Contains("norm") ? 1.0 : 0.0));
        Checkpoint.SaveQwen2(model, _folder);
        return model;
    }

    static (int ExitCode, string Stdout, string Stderr) RunCli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "llavamod.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }

    [Fact]
    public void Json_output_has_the_library_samples_with_their_log_probs()
    {
        var model = SaveTinyModel();
        var (code, stdout, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5,17,3", "--max-new-tokens", "6",
            "--temperature", "0.9", "--top-k", "20", "--seed", "11", "--samples", "2", "--json", "--device", "cpu");
        Assert.True(code == 0, stderr);
        var results = JsonNode.Parse(stdout)!.AsArray();
        var expected = TextGenerator.Generate(model, [[5, 17, 3]],
            new GenerationOptions { MaxNewTokens = 6, Temperature = 0.9, TopK = 20, Seed = 11, SamplesPerPrompt = 2, StopTokenIds = [151643] });
        Assert.Equal(2, results.Count);
        for (int s = 0; s < 2; s++)
        {
            Assert.Equal(expected[s].TokenIds, results[s]!["token_ids"]!.AsArray().Select(n => n!.GetValue<long>()));
            Assert.Equal(expected[s].LogProbSum, results[s]!["logprob_sum"]!.GetValue<double>(), 4);
            Assert.Equal(11UL + (ulong)s, results[s]!["seed"]!.GetValue<ulong>());
        }
    }

    [Fact]
    public void Llava_folder_with_an_image_generates_what_the_library_generates_from_the_same_pixels()
    {
        var text = new Qwen2Config { VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, RopeTheta = 10000 };
        var vision = new ClipVisionConfig { HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, ImageSize = 28, PatchSize = 14 };
        var model = new LlavaModel(new LlavaConfig(text, vision, "mlp2x_gelu", -2, "tiny-clip"));
        var g = new torch.Generator(4);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                p.copy_(randn(p.shape, generator: g).MulScalar(0.2).AddScalar(name.Contains("norm") ? 1.0 : 0.0));
        Checkpoint.Save(model, _folder);
        var rgb = new byte[28 * 28 * 3];
        new Random(5).NextBytes(rgb);
        string imagePath = Path.Combine(_folder, "image.png");
        using (var image = SixLabors.ImageSharp.Image.LoadPixelData<SixLabors.ImageSharp.PixelFormats.Rgb24>(rgb, 28, 28))
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, imagePath);

        var (code, stdout, stderr) = RunCli("generate", "--model", _folder, "--image", imagePath, "--input-ids", "3,-200,5,6",
            "--max-new-tokens", "5", "--json", "--device", "cpu");
        Assert.True(code == 0, stderr);
        var pixels = ClipImageProcessor.ToPixelValues(rgb, 28, 28, vision).unsqueeze(0);
        var expected = TextGenerator.Generate(model, new LlavaBatch { InputIds = [[3, LlavaBatch.ImageTokenIndex, 5, 6]], PixelValues = pixels },
            new GenerationOptions { MaxNewTokens = 5, StopTokenIds = [151643] })[0];
        Assert.Equal(expected.TokenIds, JsonNode.Parse(stdout)!.AsArray()[0]!["token_ids"]!.AsArray().Select(n => n!.GetValue<long>()));
    }

    [Fact]
    public void Bf16_precision_generates_what_the_library_generates_in_a_bf16_scope_and_refuses_other_precisions()
    {
        var model = SaveTinyModel();
        var (code, stdout, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5,17,3", "--max-new-tokens", "6", "--json", "--device", "cpu", "--precision", "bf16");
        Assert.True(code == 0, stderr);
        var result = JsonNode.Parse(stdout)!.AsArray()[0]!;
        var options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [151643] };
        GeneratedSequence expected;
        using (Autocast.Enter(ComputePrecision.Bf16)) expected = TextGenerator.Generate(model, [[5, 17, 3]], options)[0];
        Assert.Equal(expected.TokenIds, result["token_ids"]!.AsArray().Select(n => n!.GetValue<long>()));
        Assert.Equal(expected.LogProbSum, result["logprob_sum"]!.GetValue<double>(), 4);
        // bf16 log-probs of the same tokens stay near the fp32 ones (and differ: bf16 really ran)
        var fp32 = SequenceScorer.LogProbs(model, [5, 17, 3], expected.TokenIds).Sum;
        Assert.InRange(Math.Abs(fp32 - expected.LogProbSum), 1e-7, 0.05 * Math.Abs(fp32) + 0.05);

        (code, _, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5", "--device", "cpu", "--precision", "fp16");
        Assert.Equal(1, code);
        Assert.Contains("precision 'fp16'", stderr);
    }

    [Fact]
    public void Text_models_refuse_images_and_bad_ids_with_one_error_line()
    {
        SaveTinyModel();
        var (code, _, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5,x", "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("error: --input-ids", stderr);
        (code, _, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5,-200", "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("text-only Qwen2 model", stderr);
        (code, _, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5", "--samples", "2", "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("--temperature > 0", stderr);
    }

    /// <summary>
    /// The device a user names is the one used: <c>cpu</c> runs (and gives the library's tokens, as above), <c>cuda</c> on a
    /// machine without CUDA is one clear error line, not a fall-back to the CPU and not a stack trace.
    /// </summary>
    [Fact]
    public void Device_cuda_without_a_gpu_is_one_clear_error_and_unknown_devices_are_refused()
    {
        SaveTinyModel();
        foreach (var name in new[] { "cuda", "cuda:0" })
        {
            var (code, stdout, stderr) = RunCli("generate", "--model", _folder, "--input-ids", "5,17", "--max-new-tokens", "2", "--json", "--device", name);
            if (torch.cuda.is_available()) { Assert.True(code == 0, stderr); continue; }
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.Equal($"error: --device {name}: CUDA is not available", string.Join(' ', stderr.Trim().Split(' ').Take(7)));
            Assert.Single(stderr.Trim().Split('\n'));
        }
        var (tpuCode, _, tpuErr) = RunCli("generate", "--model", _folder, "--input-ids", "5", "--device", "tpu");
        Assert.Equal(1, tpuCode);
        Assert.Contains("--device tpu: expected auto, cpu, cuda or cuda:N", tpuErr);
    }
}
