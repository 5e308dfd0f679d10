using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Models;
using TorchSharp;

namespace LlavaMod.Cli.Commands;

/// <summary>
/// llavamod model init --preset NAME --out DIR [--seed N] [--tokenizer DIR] [--dtype fp32|bf16]
/// llavamod model info DIR | --preset NAME
/// </summary>
public static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "Create model folders from presets and describe models.");
        command.Subcommands.Add(CreateInit());
        command.Subcommands.Add(CreateInfo());
        return command;
    }

    static Command CreateInit()
    {
        var preset = new Option<string>("--preset") { Description = $"One of: {string.Join(", ", ModelPresets.All.Keys)}", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write (config.json, model.safetensors, tokenizer files)", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed for the initial weights", DefaultValueFactory = _ => 0 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder whose tokenizer files are copied beside the weights" };
        var dtype = new Option<string>("--dtype") { Description = "Stored precision: fp32 or bf16", DefaultValueFactory = _ => "fp32" };
        var command = new Command("init", "Write a randomly initialised LLaVA model (vision tower, projector, Qwen2 LM) for a preset.");
        foreach (var o in new Option[] { preset, output, seed, tokenizer, dtype }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            var storedType = parse.GetValue(dtype) switch
            {
                "fp32" => torch.ScalarType.Float32,
                "bf16" => torch.ScalarType.BFloat16,
                var other => throw new LlavaModException($"--dtype {other}: expected fp32 or bf16"),
            };
            string folder = parse.GetValue(output)!;
            string? tokenizerFolder = parse.GetValue(tokenizer);
            if (tokenizerFolder is not null)
            {
                int tokens = Checkpoint.TokenizerVocabSize(tokenizerFolder);
                if (tokens == 0) throw LlavaModException.ForFile(tokenizerFolder, "no tokenizer.json in this folder");
                if (tokens > config.Text.VocabSize)
                    throw LlavaModException.ForFile(tokenizerFolder, $"the tokenizer has {tokens} ids, more than the preset's vocab_size {config.Text.VocabSize}");
            }
            using var model = Initialization.NewLlava(config, parse.GetValue(seed));
            Checkpoint.Save(model, folder, tokenizerFolder, storedType);
            Console.WriteLine($"wrote {folder} (preset {parse.GetValue(preset)}, seed {parse.GetValue(seed)}, {parse.GetValue(dtype)})");
            foreach (var line in ModelInfo.Of(config).Describe()) Console.WriteLine(line);
        });
        return command;
    }

    static Command CreateInfo()
    {
        var folder = new Argument<string?>("dir") { Description = "A model folder (config.json)", Arity = ArgumentArity.ZeroOrOne };
        var preset = new Option<string?>("--preset") { Description = "Describe a preset instead of a folder" };
        var command = new Command("info", "Print parameters, active parameters per token and memory per precision (from config.json alone).");
        command.Arguments.Add(folder);
        command.Options.Add(preset);
        command.SetAction(parse =>
        {
            string? dir = parse.GetValue(folder), name = parse.GetValue(preset);
            if ((dir is null) == (name is null)) throw new LlavaModException("give either a model folder or --preset NAME");
            var (title, info, moe) = name is not null ? Describe(name, ModelPresets.Get(name)) : Describe(dir!);
            Console.WriteLine(title);
            if (moe is not null) Console.WriteLine($"mixture of experts   {moe.NumExperts} experts, top-{moe.TopK}");
            foreach (var line in info.Describe()) Console.WriteLine(line);
        });
        return command;
    }

    static (string, ModelInfo, MoeConfig?) Describe(string name, LlavaConfig config) =>
        ($"preset {name}: Qwen2 {config.Text.NumHiddenLayers}×{config.Text.HiddenSize}, CLIP {config.Vision.NumHiddenLayers}×{config.Vision.HiddenSize} at {config.Vision.ImageSize}px/{config.Vision.PatchSize}",
         ModelInfo.Of(config), config.Text.Moe);

    static (string, ModelInfo, MoeConfig?) Describe(string dir)
    {
        var text = Qwen2Config.Load(dir);
        if (text.ModelType == "qwen2")
        {
            var (total, active, embeddings) = ModelInfo.Language(text);
            return ($"{dir}: Qwen2 {text.NumHiddenLayers}×{text.HiddenSize} (language model only)", new ModelInfo(0, 0, total, active, embeddings), text.Moe);
        }
        var (_, llavaInfo, llavaMoe) = Describe(dir, LlavaConfig.Load(dir));
        return ($"{dir}: LLaVA ({text.ModelType})", llavaInfo, llavaMoe);
    }
}
