using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Data.Images;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using static TorchSharp.torch;

namespace LlavaMod.Evaluation.Answering;

/// <summary>One question to answer, from a question file or a shard row, able to give its prompt ids and image.</summary>
public abstract record AnswerItem(string QuestionId, JsonNode IdValue, string PromptText)
{
    /// <summary>The model batch of a chunk of items (all from the same source).</summary>
    public static LlavaBatch ToBatch(IReadOnlyList<AnswerItem> items, ClipVisionConfig vision, ChatTemplate template, ImageProcessor images, Device device) => items[0] switch
    {
        ShardItem => LlavaBatch.FromExamples(items.Cast<ShardItem>().Select(i => i.Prompt).ToList(), vision, device),
        _ => QuestionItem.ToBatch(items.Cast<QuestionItem>().ToList(), vision, template, images, device),
    };
}

/// <summary>A line of a question file; its image is <see cref="ImagePath"/> (null: a text-only question).</summary>
public sealed record QuestionItem(string QuestionId, JsonNode IdValue, string PromptText, string? ImagePath, long Line) : AnswerItem(QuestionId, IdValue, PromptText)
{
    /// <summary>Prompts rendered with the chat template; images prepared by the ETL's <paramref name="images"/> processor (the
    /// resize mode the training shards used) and decoded as training decodes stored images.</summary>
    public static LlavaBatch ToBatch(IReadOnlyList<QuestionItem> items, ClipVisionConfig vision, ChatTemplate template, ImageProcessor images, Device device)
    {
        using var scope = NewDisposeScope();
        var ids = items.Select(i => PromptInputs.Tokenize(template, i.PromptText, i.ImagePath is not null)).ToList();
        var pixels = items.Where(i => i.ImagePath is not null)
            .Select(i => ClipImageProcessor.FromEncoded(images.Process(File.ReadAllBytes(i.ImagePath!), i.ImagePath!).Bytes, i.ImagePath!, vision)).ToList();
        var pixelValues = pixels.Count == 0 ? null : stack(pixels).to(device).MoveToOuterDisposeScope();  // (N, 3, S, S)
        return new LlavaBatch { InputIds = ids, PixelValues = pixelValues };
    }

    /// <summary>The questions of a file with their image paths under <paramref name="imageRoot"/>.</summary>
    public static IReadOnlyList<QuestionItem> Read(string questions, string imageRoot)
    {
        if (!Directory.Exists(imageRoot)) throw LlavaModException.ForFile(imageRoot, "--image-root folder not found");
        var root = new ImageRoot(imageRoot); // paths (and links) that leave the root are refused
        return QuestionFile.Read(questions).Select(q =>
        {
            var (status, full) = root.Locate(q.Image);
            if (status == RootedPathStatus.OutsideRoot)
                throw LlavaModException.ForFile(questions, $"line {q.Line}: image '{q.Image}' leads outside the image root {imageRoot} ({full}); refused");
            return new QuestionItem(q.QuestionId, q.IdValue, q.Text, full, q.Line);
        }).ToList();
    }
}

/// <summary>A shard row: the prompt is the row's own ids up to its first supervised token (the training template exactly).</summary>
public sealed record ShardItem(string QuestionId, JsonNode IdValue, string PromptText, SupervisedExample Prompt) : AnswerItem(QuestionId, IdValue, PromptText)
{
    public static IReadOnlyList<ShardItem> Read(string data, QwenTokenizer tokenizer)
    {
        var items = DatasetReader.EnumerateRows(data).ToBlockingEnumerable().Select(row =>
        {
            var prompt = SupervisedExample.FromShardRow(row).PromptOnly();
            string id = row.Id ?? row.Key;
            return new ShardItem(id, JsonValue.Create(id), tokenizer.Decode(prompt.InputIds.Where(i => i >= 0).Select(i => (int)i)), prompt);
        }).ToList();
        if (items.Count == 0) throw LlavaModException.ForFile(data, "holds no rows");
        return items;
    }
}
