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
        command.Subcommands.Add(CreateAssemble());
        return command;
    }

    static Command CreateInit()
    {
        var preset = new Option<string>("--preset") { Description = $"One of: {string.Join(", ", ModelPresets.All.Keys)}", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write (config.json, model.safetensors, tokenizer files)", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed for the initial weights", DefaultValueFactory = _ => 0 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder whose tokenizer files are copied beside the weights (default: the bundled Qwen tokenizer)" };
        var dtype = new Option<string>("--dtype") { Description = "Stored precision: fp32 or bf16", DefaultValueFactory = _ => "fp32" };
        var subsetFrom = new Option<string[]>("--vocab-subset-from") { Description = "Restrict the softmax to the token ids used by these shard folders (repeatable; small-domain runs such as the demo). The checkpoint keeps the full vocabulary shape." };
        var initStd = new Option<double?>("--initializer-range") { Description = "Std of the language model's and projector's initial weights, recorded as initializer_range in config.json (default: the preset's; the demo presets use 0.1, see ModelPresets)" };
        var visionFrom = new Option<string?>("--vision-from") { Description = "Copy the vision tower's weights from this LLaVA folder (teacher and student share one frozen tower)" };
        var command = new Command("init", "Write a randomly initialised LLaVA model (vision tower, projector, Qwen2 LM) for a preset.");
        foreach (var o in new Option[] { preset, output, seed, initStd, tokenizer, dtype, subsetFrom, visionFrom }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            if (parse.GetValue(initStd) is double range)
                config = config with { Text = (config.Text with { InitializerRange = range }).Validate("--initializer-range") };
            var storedType = parse.GetValue(dtype) switch
            {
                "fp32" => torch.ScalarType.Float32,
                "bf16" => torch.ScalarType.BFloat16,
                var other => throw new LlavaModException($"--dtype {other}: expected fp32 or bf16"),
            };
            string folder = parse.GetValue(output)!;
            string? tokenizerFolder = parse.GetValue(tokenizer) ?? Path.GetDirectoryName(LlavaMod.Data.Text.QwenTokenizer.BundledPath);
            if (tokenizerFolder is not null)
            {
                int tokens = Checkpoint.TokenizerVocabSize(tokenizerFolder);
                if (tokens == 0) throw LlavaModException.ForFile(tokenizerFolder, "no tokenizer.json in this folder");
                if (tokens > config.Text.VocabSize)
                    throw LlavaModException.ForFile(tokenizerFolder, $"the tokenizer has {tokens} ids, more than the preset's vocab_size {config.Text.VocabSize}");
            }
            using var model = Initialization.NewLlava(config, parse.GetValue(seed));
            if (parse.GetValue(visionFrom) is string source)
            {
                using var donor = Checkpoint.Load(source);
                var (a, b) = (donor.Config.Vision, config.Vision);
                if ((a.HiddenSize, a.IntermediateSize, a.NumHiddenLayers, a.NumAttentionHeads, a.ImageSize, a.PatchSize) != (b.HiddenSize, b.IntermediateSize, b.NumHiddenLayers, b.NumAttentionHeads, b.ImageSize, b.PatchSize))
                    throw LlavaModException.ForFile(source, $"its vision tower has another configuration than preset {parse.GetValue(preset)}'s");
                model.VisionTower.load_state_dict(donor.VisionTower.state_dict());
                Console.WriteLine($"vision tower copied from {source}");
            }
            if (parse.GetValue(subsetFrom) is { Length: > 0 } subsetDirs)
            {
                int endOfText = tokenizerFolder is null ? 151643 : LlavaMod.Data.Text.QwenTokenizer.Load(tokenizerFolder).EndOfTextId;
                var ids = LlavaMod.Data.Shards.DatasetTokenIds.Collect(subsetDirs);
                ids.Add(endOfText); // it stops generation: it must stay reachable
                model.VocabSubset = new VocabSubset(ids);
                model.VocabSubset.Validate(config.Text.VocabSize, string.Join(", ", subsetDirs));
                Console.WriteLine($"vocabulary subset: {model.VocabSubset.Count} token ids from {string.Join(", ", subsetDirs)}");
            }
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

    static Command CreateAssemble()
    {
        var qwen = new Option<string>("--llm") { Description = "Qwen2ForCausalLM folder (config.json + safetensors + tokenizer), e.g. Qwen2-0.5B", Required = true };
        var clip = new Option<string>("--vision") { Description = "CLIP vision folder (CLIPVisionModel or CLIPModel), e.g. clip-vit-large-patch14-336", Required = true };
        var projector = new Option<string?>("--projector") { Description = "Projector weights (safetensors, LLaVA or LLaVA-MoD names); random when omitted" };
        var projectorType = new Option<string>("--projector-type") { Description = "mlp2x_gelu or linear", DefaultValueFactory = _ => "mlp2x_gelu" };
        var selectLayer = new Option<int>("--select-layer") { Description = "Vision layer whose features are used (LLaVA: -2)", DefaultValueFactory = _ => -2 };
        var output = new Option<string>("--out") { Description = "LLaVA folder to write", Required = true };
        var command = new Command("assemble", "Build a LLaVA model folder from a Qwen2 checkpoint, a CLIP vision checkpoint and an optional projector (the start of a real run).")
        {
            qwen, clip, projector, projectorType, selectLayer, output,
        };
        command.SetAction(parse =>
        {
            using var model = Checkpoint.Assemble(parse.GetValue(qwen)!, parse.GetValue(clip)!, parse.GetValue(projector), parse.GetValue(projectorType)!, parse.GetValue(selectLayer));
            Checkpoint.Save(model, parse.GetValue(output)!, parse.GetValue(qwen));
            Console.WriteLine($"wrote {parse.GetValue(output)}");
            foreach (var line in ModelInfo.Of(model.Config).Describe()) Console.WriteLine(line);
        });
        return command;
    }
}
