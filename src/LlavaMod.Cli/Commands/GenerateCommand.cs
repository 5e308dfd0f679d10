using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.Runtime;
using LlavaMod.Teacher.Sampling;
using static TorchSharp.torch;

namespace LlavaMod.Cli.Commands;

/// <summary>
/// `llavamod generate --model DIR --prompt TEXT [--image FILE]`: greedy or sampled generation with
/// a LLaVA(-MoD) folder (dense or MoE) or a plain Qwen2 folder, printing text or JSON with token ids
/// and per-token log-probs.
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (LLaVA-MoD layout or a Qwen2ForCausalLM folder)", Required = true };
        var prompt = new Option<string?>("--prompt") { Description = "User message (rendered with --template)" };
        var image = new Option<string?>("--image") { Description = "Image file for a LLaVA model; \"<image>\" is prepended to the prompt when absent" };
        var template = new Option<string>("--template") { Description = "Chat template: qwen (LLaVA-MoD) or chatml", DefaultValueFactory = _ => "qwen" };
        var inputIds = new Option<string?>("--input-ids") { Description = "Comma-separated prompt token ids instead of --prompt (-200 = image)" };
        var json = new Option<bool>("--json") { Description = "Print JSON (ids, per-token log-probs, text)" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate at most", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass (1 = off)", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = off)", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of sample 0; sample s uses seed + s", DefaultValueFactory = _ => 0UL };
        var samples = new Option<int>("--samples") { Description = "Samples per prompt", DefaultValueFactory = _ => 1 };
        var command = new Command("generate", "Generate a response with a model (greedy or sampled, with per-token log-probs).");
        foreach (var o in new Option[] { model, prompt, image, template, inputIds, json, maxNew, temperature, topP, topK, seed, samples })
            command.Options.Add(o);
        var runtime = new RuntimeOptionSet(command);
        command.SetAction(parse =>
        {
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew), Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK), Seed = parse.GetValue(seed), SamplesPerPrompt = parse.GetValue(samples),
            };
            options.Validate();
            var request = new Request(parse.GetValue(model)!, parse.GetValue(prompt), parse.GetValue(image), ChatTemplateKinds.Parse(parse.GetValue(template)!),
                parse.GetValue(inputIds), runtime.Parse(parse));
            var results = Run(request, options);
            if (parse.GetValue(json)) Console.WriteLine(ToJson(results).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            else
                foreach (var r in results)
                {
                    if (results.Count > 1) Console.WriteLine($"--- sample {r.SampleIndex} (seed {r.Seed}, log-prob {r.LogProbSum:F3}, {r.FinishReason})");
                    Console.WriteLine(r.Text);
                }
            return 0;
        });
        return command;
    }

    sealed record Request(string ModelDir, string? Prompt, string? ImagePath, ChatTemplateKind Template, string? InputIds, RuntimeOptions Runtime);

    static IReadOnlyList<GeneratedSequence> Run(Request request, GenerationOptions options)
    {
        TorchRuntime.EnsureLoaded();
        if (!Directory.Exists(request.ModelDir)) throw new LlavaModException($"--model {request.ModelDir}: folder not found");
        var device = request.Runtime.Apply();
        var tokenizer = PromptInputs.LoadTokenizer(request.ModelDir);
        var stops = StopTokens.Of(tokenizer);
        options = options with { StopTokenIds = stops };
        string Decode(long[] ids) => tokenizer.Decode(ids.Select(i => (int)i));

        bool isLlava = ModelType(request.ModelDir) != "qwen2";
        long[] promptIds = PromptIds(request, tokenizer, isLlava);
        using var autocast = Autocast.Enter(request.Runtime.Precision);
        bool hasPlaceholder = promptIds.Contains(LlavaBatch.ImageTokenIndex);
        if (!isLlava)
        {
            if (request.ImagePath is not null || hasPlaceholder) throw new LlavaModException($"--model {request.ModelDir} is a text-only Qwen2 model: it cannot take an image");
            var lm = Checkpoint.LoadQwen2(request.ModelDir, device: device);
            return TextGenerator.Generate(lm, [promptIds], options, Decode);
        }
        var llava = Checkpoint.Load(request.ModelDir, device: device);
        if (hasPlaceholder != (request.ImagePath is not null))
            throw new LlavaModException(hasPlaceholder ? "the prompt has an image placeholder but no --image was given" : "--image was given but the prompt ids have no image placeholder (-200)");
        Tensor? pixels = request.ImagePath is null ? null : PromptInputs.LoadPixels(request.ImagePath, llava.Config.Vision).unsqueeze(0).to(device);
        return TextGenerator.Generate(llava, new LlavaBatch { InputIds = [promptIds], PixelValues = pixels }, options, Decode);
    }

    static long[] PromptIds(Request request, QwenTokenizer tokenizer, bool isLlava)
    {
        if (request.InputIds is { } text)
        {
            if (request.Prompt is not null) throw new LlavaModException("give either --prompt or --input-ids, not both");
            try { return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray(); }
            catch (FormatException) { throw new LlavaModException($"--input-ids \"{text}\": expected comma-separated integers"); }
        }
        if (request.Prompt is null) throw new LlavaModException("give --prompt TEXT or --input-ids 1,2,3");
        return PromptInputs.Tokenize(ChatTemplate.Create(request.Template, tokenizer), request.Prompt, isLlava && request.ImagePath is not null);
    }

    static string ModelType(string dir)
    {
        string path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found (is --model a model folder?)");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?["model_type"]?.GetValue<string>() ?? "";
        }
        catch (JsonException e) { throw LlavaModException.ForFile(path, $"malformed JSON: {e.Message}", e); }
    }

    static JsonArray ToJson(IReadOnlyList<GeneratedSequence> results) => new(results.Select(r => (JsonNode)new JsonObject
    {
        ["prompt_index"] = r.PromptIndex,
        ["sample"] = r.SampleIndex,
        ["seed"] = r.Seed,
        ["finish_reason"] = r.FinishReason,
        ["text"] = r.Text,
        ["token_ids"] = new JsonArray(r.TokenIds.Select(i => (JsonNode)i).ToArray()),
        ["token_logprobs"] = new JsonArray(r.TokenLogProbs.Select(p => (JsonNode)p).ToArray()),
        ["logprob_sum"] = r.LogProbSum,
    }).ToArray());
}
