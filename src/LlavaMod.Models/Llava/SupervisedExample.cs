using LlavaMod.Core;
using LlavaMod.Data.Shards;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// One supervised row as models consume it: ids (the image placeholder is -200), labels (the id
/// where the shard's label mask is 1, else -100, ignored by every loss) and the stored image bytes
/// (already validated and resized by the ETL). <paramref name="Id"/> is the source row's id.
/// </summary>
public sealed record SupervisedExample(string Key, long[] InputIds, long[] Labels, byte[]? ImageBytes, string? Id = null)
{
    /// <summary>CLIP pixel values [3, S, S] of <see cref="ImageBytes"/> prepared ahead of the step (the trainer's
    /// prefetcher owns and frees them); when null, <see cref="ToBatch"/> decodes the bytes itself.</summary>
    public Tensor? PreparedPixels { get; init; }

    public static SupervisedExample FromShardRow(ShardRow row)
    {
        var ids = new long[row.InputIds.Length];
        var labels = new long[row.InputIds.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = row.InputIds[i];
            labels[i] = row.LabelMask[i] == 1 ? row.InputIds[i] : LlavaBatch.IgnoreIndex;
        }
        return new SupervisedExample(row.Key, ids, labels, row.Image?.Bytes, row.Id);
    }

    /// <summary>The ids up to the first supervised token: the prompt a model answers (generation, evaluation).</summary>
    public SupervisedExample PromptOnly()
    {
        int first = Array.FindIndex(Labels, l => l != LlavaBatch.IgnoreIndex);
        if (first < 0) throw new LlavaModException($"row {Key} has no supervised tokens: no prompt/answer boundary");
        return this with { InputIds = InputIds[..first], Labels = Enumerable.Repeat(LlavaBatch.IgnoreIndex, first).ToArray() };
    }

    public int SupervisedCount => Labels.Count(l => l != LlavaBatch.IgnoreIndex);
    public bool HasImage => InputIds.Contains(LlavaBatch.ImageTokenIndex);

    /// <summary>A model batch of examples: ids, labels and CLIP pixel values of the rows' images, on <paramref name="device"/>.</summary>
    public static LlavaBatch ToBatch(IReadOnlyList<SupervisedExample> examples, ClipVisionConfig vision, Device device)
    {
        var pixels = new List<Tensor>();
        using var scope = torch.NewDisposeScope();
        foreach (var example in examples.Where(e => e.HasImage))
        {
            if (example.ImageBytes is null)
                throw new LlavaModException($"row {example.Key}: the text has an image placeholder but the row stores no image bytes");
            pixels.Add(example.PreparedPixels ?? PixelValues(example.ImageBytes, example.Key, vision));
        }
        var pixelValues = pixels.Count == 0 ? null : torch.stack(pixels).to(device).MoveToOuterDisposeScope();
        return new LlavaBatch
        {
            InputIds = examples.Select(e => e.InputIds).ToList(),
            Labels = examples.Select(e => e.Labels).ToList(),
            PixelValues = pixelValues,
        };
    }

    /// <summary>Stored image bytes → CLIP pixel values [3, S, S] (ImageSharp decode, processor normalisation).</summary>
    public static Tensor PixelValues(byte[] bytes, string key, ClipVisionConfig vision)
    {
        try
        {
            using var image = Image.Load<Rgb24>(bytes);
            var rgb = new byte[image.Width * image.Height * 3];
            image.CopyPixelDataTo(rgb);
            return ClipImageProcessor.ToPixelValues(rgb, image.Width, image.Height, vision);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException)
        {
            throw new LlavaModException($"row {key}: the stored image cannot be decoded ({e.Message}); run 'llavamod verify' on the dataset", e);
        }
    }
}
