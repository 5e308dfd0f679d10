using System.Diagnostics;
using System.Text.Json.Nodes;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Cli.Tests.Commands;

/// <summary>eval answer / score / run and report through the CLI, on a tiny random LLaVA folder and a POPE-shaped question file.</summary>
public class EvalCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-eval-cli-").FullName;
    readonly string _model, _images, _questions;

    public EvalCommandTests()
    {
        TorchRuntime.EnsureLoaded();
        _model = Path.Combine(_dir, "model");
        // The full Qwen vocabulary: prompts are tokenized with the bundled Qwen tokenizer.
        var text = new Qwen2Config { VocabSize = 151936, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1, RopeTheta = 10000 };
        var vision = new ClipVisionConfig { HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, ImageSize = 28, PatchSize = 14 };
        using var model = new LlavaModel(new LlavaConfig(text, vision, "mlp2x_gelu", -2, "tiny-clip"));
        var g = new torch.Generator(4);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                p.copy_(randn(p.shape, generator: g).MulScalar(0.5).AddScalar(name.Contains("norm") ? 1.0 : 0.0));
        Checkpoint.Save(model, _model);
        _images = Path.Combine(_dir, "val2014");
        Directory.CreateDirectory(_images);
        for (int i = 1; i <= 2; i++)
        {
            var rgb = new byte[28 * 28 * 3];
            new Random(i).NextBytes(rgb);
            using var image = SixLabors.ImageSharp.Image.LoadPixelData<SixLabors.ImageSharp.PixelFormats.Rgb24>(rgb, 28, 28);
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(_images, $"{i}.png"));
        }
        _questions = Path.Combine(_dir, "pope.jsonl");
        File.WriteAllLines(_questions,
        [
            """{"question_id": 1, "image": "1.png", "text": "Is there a dog in the image?", "label": "yes", "category": "random"}""",
            """{"question_id": 2, "image": "2.png", "text": "Is there a cat in the image?", "label": "no", "category": "random"}""",
            """{"question_id": 3, "image": "3.png", "text": "Is there a car in the image?", "label": "no", "category": "random"}""",
        ]);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

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

    string[] Answer(string output, params string[] extra) =>
        ["eval", "answer", "--model", _model, "--questions", _questions, "--image-root", _images, "--out", output, "--max-new-tokens", "4", "--device", "cpu", .. extra];

    [Fact]
    public void A_missing_image_stops_the_run_with_its_line_unless_skipped()
    {
        string answers = Path.Combine(_dir, "answers.jsonl");
        var (code, _, stderr) = RunCli(Answer(answers));
        Assert.NotEqual(0, code);
        Assert.Contains($"{_questions}: line 3: image {Path.Combine(_images, "3.png")} not found (1 of 3 images missing under {_images}); --skip-missing-images answers the others", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(answers));

        (code, var stdout, stderr) = RunCli(Answer(answers, "--skip-missing-images", "--batch-size", "2"));
        Assert.True(code == 0, stderr);
        Assert.Contains("1 questions skipped: image missing", stdout);
        var lines = File.ReadAllLines(answers).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal([1, 2], lines.Select(l => l["question_id"]!.GetValue<int>()));
        Assert.All(lines, l => Assert.Equal(["question_id", "prompt", "text", "answer_id", "model_id", "metadata"], l.Select(kv => kv.Key)));
        Assert.Equal("Is there a dog in the image?", lines[0]["prompt"]!.GetValue<string>());

        // The answers are what 'generate' answers for the same prompt and image (the same chat template and pixels).
        (code, stdout, stderr) = RunCli("generate", "--model", _model, "--image", Path.Combine(_images, "2.png"), "--prompt", "Is there a cat in the image?",
            "--max-new-tokens", "4", "--device", "cpu");
        Assert.True(code == 0, stderr);
        Assert.Equal(stdout.Trim(), lines[1]["text"]!.GetValue<string>());

        // Resuming: a torn last line is cut off and only that question is answered again.
        string full = File.ReadAllText(answers);
        File.WriteAllText(answers, full[..(full.IndexOf('\n') + 8)]);
        (code, stdout, stderr) = RunCli(Answer(answers, "--skip-missing-images"));
        Assert.True(code == 0, stderr);
        Assert.Contains("1 answered, 1 resumed, of 2 questions", stdout);
        Assert.Equal(full, File.ReadAllText(answers));
    }

    [Fact]
    public void Pad_square_prepares_images_as_the_ETL_prepared_the_training_images()
    {
        var rgb = new byte[28 * 14 * 3];
        new Random(9).NextBytes(rgb);
        using (var image = SixLabors.ImageSharp.Image.LoadPixelData<SixLabors.ImageSharp.PixelFormats.Rgb24>(rgb, 28, 14))
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(_images, "wide.png"));
        string questions = Path.Combine(_dir, "wide.jsonl");
        File.WriteAllText(questions, """{"question_id": "w", "image": "wide.png", "text": "Describe the image."}""" + "\n");
        string answers = Path.Combine(_dir, "wide-answers.jsonl");
        var (code, _, stderr) = RunCli("eval", "answer", "--model", _model, "--questions", questions, "--image-root", _images, "--out", answers,
            "--image-mode", "pad-square", "--max-new-tokens", "6", "--device", "cpu");
        Assert.True(code == 0, stderr);
        // What a pad-square shard stores for this image (LLaVA's expand2square, re-encoded), answered by 'generate'.
        var stored = new LlavaMod.Data.Images.ImageProcessor(new LlavaMod.Data.Images.ImageOptions { Mode = LlavaMod.Data.Images.ResizeMode.PadSquare, Size = 28 })
            .Process(File.ReadAllBytes(Path.Combine(_images, "wide.png")), "wide.png");
        File.WriteAllBytes(Path.Combine(_dir, "stored.img"), stored.Bytes);
        (code, var stdout, stderr) = RunCli("generate", "--model", _model, "--image", Path.Combine(_dir, "stored.img"), "--prompt", "Describe the image.", "--max-new-tokens", "6", "--device", "cpu");
        Assert.True(code == 0, stderr);
        Assert.Equal(stdout.Trim(), JsonNode.Parse(File.ReadAllText(answers))!["text"]!.GetValue<string>());
        // and not what the squashed original gives
        (code, stdout, stderr) = RunCli("generate", "--model", _model, "--image", Path.Combine(_images, "wide.png"), "--prompt", "Describe the image.", "--max-new-tokens", "6", "--device", "cpu");
        Assert.True(code == 0, stderr);
        Assert.NotEqual(stdout.Trim(), JsonNode.Parse(File.ReadAllText(answers))!["text"]!.GetValue<string>());
    }

    [Fact]
    public void Workers_take_every_nth_question_and_run_scores_what_was_answered()
    {
        string answers = Path.Combine(_dir, "w1.jsonl");
        var (code, _, stderr) = RunCli(Answer(answers, "--worker", "1", "--workers", "2"));
        Assert.True(code == 0, stderr);
        Assert.Equal([2], File.ReadAllLines(answers).Select(l => JsonNode.Parse(l)!["question_id"]!.GetValue<int>()));

        string run = Path.Combine(_dir, "run");
        (code, var stdout, stderr) = RunCli("eval", "run", "--benchmark", "pope", "--model", _model, "--questions", _questions, "--image-root", _images,
            "--skip-missing-images", "--max-new-tokens", "4", "--device", "cpu", "--out", run);
        Assert.True(code == 0, stderr);
        Assert.Contains("pope: 2 answers scored", stdout);
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "eval.json")))!;
        Assert.Equal("pope", result["benchmark"]!.GetValue<string>());
        var metrics = result["metrics"]!;
        Assert.Equal(2, metrics["tp"]!.GetValue<int>() + metrics["fp"]!.GetValue<int>() + metrics["tn"]!.GetValue<int>() + metrics["fn"]!.GetValue<int>());
        Assert.True(result["run"]!["active_language_parameters"]!.GetValue<long>() > 0);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "eval.scored.jsonl")).Length);

        // The same answers scored again by 'eval score' (strict: every question answered) and tabulated by 'report'.
        string two = Path.Combine(_dir, "two.jsonl");
        File.WriteAllLines(two, File.ReadAllLines(_questions).Take(2));
        (code, stdout, stderr) = RunCli("eval", "score", "--benchmark", "pope", "--answers", Path.Combine(run, "answers.jsonl"), "--questions", two, "--out", Path.Combine(_dir, "r.json"));
        Assert.True(code == 0, stderr);
        Assert.Equal(metrics.ToJsonString(), JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "r.json")))!["metrics"]!.ToJsonString());
        (code, stdout, stderr) = RunCli("eval", "score", "--benchmark", "pope", "--answers", Path.Combine(run, "answers.jsonl"), "--questions", _questions, "--out", Path.Combine(_dir, "r3.json"));
        Assert.NotEqual(0, code);
        Assert.Contains($"{_questions}: line 3: question_id 3 has no answer", stderr);

        (code, stdout, stderr) = RunCli("report", "--out", Path.Combine(_dir, "report.md"), "--row", $"a={run}", "--row", $"b={Path.Combine(_dir, "r.json")}", "--compare", "a:b");
        Assert.True(code == 0, stderr);
        Assert.Contains("| model | accuracy | precision | recall | F1 | yes ratio | active LM params (no embeddings) |", stdout);
        Assert.Contains("| accuracy | +0.000 | 0.000 | paired over the same 2 answers, 0 differ; within 2 SE |", stdout);
    }

    [Fact]
    public async Task Answers_of_two_concurrent_workers_merge_to_the_bytes_of_one_process()
    {
        // Seven questions, one without its image: worker 0 answers lines 1, 3, 5, 7 and worker 1 lines 2, 4 (6 is skipped),
        // so only putting them back in question order gives the single run's file.
        string questions = Path.Combine(_dir, "seven.jsonl");
        File.WriteAllLines(questions, Enumerable.Range(1, 7).Select(i =>
            $$"""{"question_id": {{10 + i}}, "image": "{{(i == 6 ? 3 : 1 + i % 2)}}.png", "text": "Is there a dog? ({{i}})", "label": "yes"}"""));
        string[] Args(string output, params string[] extra) =>
            ["eval", "answer", "--model", _model, "--questions", questions, "--image-root", _images, "--out", output, "--max-new-tokens", "4",
             "--device", "cpu", "--skip-missing-images", "--batch-size", "2", .. extra];
        string single = Path.Combine(_dir, "single.jsonl");
        var (code, _, stderr) = RunCli(Args(single));
        Assert.True(code == 0, stderr);
        Assert.Equal(6, File.ReadAllLines(single).Length);
        var parts = new[] { 0, 1 }.Select(w => Path.Combine(_dir, $"w{w}.jsonl")).ToArray();
        var workers = parts.Select((p, w) => Task.Run(() => RunCli(Args(p, "--worker", $"{w}", "--workers", "2")))).ToArray();
        foreach (var (exitCode, _, err) in await Task.WhenAll(workers)) Assert.True(exitCode == 0, err);

        // One worker missing, or one of another job, is refused before anything is written.
        string merged = Path.Combine(_dir, "merged.jsonl");
        (code, _, stderr) = RunCli("merge", parts[0], "--out", merged);
        Assert.NotEqual(0, code);
        Assert.Contains("worker 1 of 2 missing", stderr);
        Assert.False(File.Exists(merged));

        (code, _, stderr) = RunCli("merge", parts[1], parts[0], "--out", merged);
        Assert.True(code == 0, stderr);
        Assert.Equal([4, 2], parts.Select(p => File.ReadAllLines(p).Length));
        Assert.Equal(File.ReadAllText(single), File.ReadAllText(merged));

        // Two processes started as the same worker leave one worker's answers: the second stops at the lock or finds them done.
        string twice = Path.Combine(_dir, "twice.jsonl");
        var same = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => RunCli(Args(twice, "--worker", "0", "--workers", "2")))));
        Assert.Contains(same, r => r.ExitCode == 0);
        Assert.All(same.Where(r => r.ExitCode != 0), r => Assert.Contains("is being written by another llavamod process", r.Stderr));
        Assert.Equal(File.ReadAllText(parts[0]), File.ReadAllText(twice));
    }
}
