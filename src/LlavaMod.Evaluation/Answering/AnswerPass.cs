using System.Diagnostics;
using LlavaMod.Core;
using LlavaMod.Data.Images;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.Runtime;
using LlavaMod.Teacher.Sampling;
using TorchSharp;

namespace LlavaMod.Evaluation.Answering;

/// <summary>
/// <c>llavamod eval answer</c>: answers a question file (or a shard folder) with a model, in
/// batches, greedily by default, with the chat template of training, and appends LLaVA answer
/// lines to the output after each batch, so a killed run resumes where it stopped. Worker i of n
/// takes the questions whose index mod n is i. Missing images are all found before the model
/// loads: they stop the run (naming the first and the count) unless skipped.
/// </summary>
public static class AnswerPass
{
    public static AnswerReport Run(AnswerOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        var clock = Stopwatch.StartNew();
        Validate(options);
        TorchRuntime.EnsureLoaded();
        var tokenizer = PromptInputs.LoadTokenizer(options.Model);
        if (options.Data is not null) ShardsBeforeUse.Require([options.Data], options.Model); // the rows' ids must come from the model's tokenizer
        IReadOnlyList<AnswerItem> all = options.Data is not null
            ? ShardItem.Read(options.Data, tokenizer)
            : QuestionItem.Read(options.Questions!, options.ImageRoot!);
        var assigned = all.Where((_, index) => index % options.Share.Count == options.Share.Index).ToList();
        var given = assigned.Select(a => a.QuestionId).ToList();

        var missing = assigned.OfType<QuestionItem>().Where(q => q.ImagePath is not null && !File.Exists(q.ImagePath)).ToList();
        if (missing.Count > 0)
        {
            string first = $"{options.Questions}: line {missing[0].Line}: image {missing[0].ImagePath} not found ({missing.Count} of {assigned.Count} images missing under {options.ImageRoot})";
            if (!options.SkipMissingImages) throw new LlavaModException(first + "; --skip-missing-images answers the others");
            log(first + "; skipped");
            var skip = missing.Select(m => m.QuestionId).ToHashSet();
            assigned = assigned.Where(a => !skip.Contains(a.QuestionId)).ToList();
        }

        using var outputLock = OutputLock.ForFile(options.Out); // a second process on the same answers stops here
        if (options.Share.IsSplit)
            new AnswerShare(options.Share.Index, options.Share.Count, Path.GetFullPath(options.Data ?? options.Questions!), SettingsFingerprint(options), given,
                missing.Select(m => m.QuestionId).ToList()).WriteOrCheck(options.Out);
        var done = AnswerFile.ResumeIds(options.Out);
        var todo = assigned.Where(a => !done.Contains(a.QuestionId)).ToList();
        int resumed = assigned.Count - todo.Count;
        if (resumed > 0) log($"{resumed} of {assigned.Count} questions already answered in {options.Out}; resuming");

        var device = options.Runtime.Apply();
        using var model = Checkpoint.Load(options.Model, torch.ScalarType.Float32, device);
        model.eval();
        using var autocast = Autocast.Enter(options.Runtime.Precision); // one scope for the whole pass: each weight is cast once
        var template = ChatTemplate.Create(options.Template, tokenizer);
        var images = new ImageProcessor(new ImageOptions { Mode = options.ImageMode, Size = options.ImageSize > 0 ? options.ImageSize : model.Config.Vision.ImageSize });
        var generation = new GenerationOptions
        {
            MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, Seed = options.Seed, StopTokenIds = StopTokens.Of(tokenizer),
        };
        generation.Validate();
        string modelId = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.Model)));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
        if (!File.Exists(options.Out)) File.WriteAllText(options.Out, "");

        int answered = 0;
        foreach (var batch in todo.Chunk(options.BatchSize))
        {
            using var scope = torch.NewDisposeScope(); // the batch's pixel values
            var generated = TextGenerator.Generate(model, AnswerItem.ToBatch(batch, model.Config.Vision, template, images, device), generation,
                ids => tokenizer.Decode(ids.Select(i => (int)i)));
            AnswerFile.Append(options.Out, generated.OrderBy(g => g.PromptIndex).Select(g =>
            {
                var item = batch[g.PromptIndex];
                return new BenchmarkAnswer(item.QuestionId, item.IdValue, item.PromptText, (g.Text ?? "").Trim(), modelId,
                    Hashing.Sha256Hex($"{modelId}\n{item.QuestionId}")[..22]);
            }));
            answered += batch.Length;
            log($"{resumed + answered}/{assigned.Count} answered");
        }
        var info = ModelInfo.Of(model.Config);
        return new AnswerReport(assigned.Count, answered, resumed, missing.Select(m => m.QuestionId).ToList(),
            info.LanguageActiveParameters - info.EmbeddingParameters, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Every setting that changes an answer (not the share, the output or the threads).</summary>
    static string SettingsFingerprint(AnswerOptions o) =>
        Hashing.Sha256Hex(Json.Serialize(o with { Share = WorkerShare.Single, Out = "", SkipMissingImages = false, Runtime = o.Runtime with { Threads = 0 } }));

    static void Validate(AnswerOptions o)
    {
        if (!Directory.Exists(o.Model)) throw new LlavaModException($"--model {o.Model}: folder not found");
        if ((o.Data is null) == (o.Questions is null)) throw new LlavaModException("give --questions Q.jsonl with --image-root DIR, or --data SHARDS, not both");
        if (o.Questions is not null && o.ImageRoot is null) throw new LlavaModException("--questions needs --image-root (the folder the question file's image paths are relative to)");
        if (o.BatchSize < 1) throw new LlavaModException($"--batch-size {o.BatchSize}: must be at least 1");
        if (o.MaxNewTokens < 1) throw new LlavaModException($"--max-new-tokens {o.MaxNewTokens}: must be at least 1");
    }
}
