using LlavaMod.Core;
using LlavaMod.Data.Text;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// One batch for <see cref="LlavaModel"/>: token ids per row (any lengths) in which each
/// <see cref="ImageTokenIndex"/> (-200) stands for one image, optional labels aligned with the ids
/// (<see cref="IgnoreIndex"/> = no loss), and the images in placeholder order over the whole batch,
/// either as pixel values [N, C, H, W] or as precomputed vision-tower features [N, patches, width].
/// </summary>
public sealed class LlavaBatch
{
    /// <summary>The image placeholder in token ids, as the ETL writes it (<see cref="Data.Text.ChatTemplate.ImagePlaceholderId"/>).</summary>
    public const long ImageTokenIndex = Data.Text.ChatTemplate.ImagePlaceholderId;
    /// <summary>The label no loss trains on (<see cref="SupervisedExample.IgnoredLabel"/>).</summary>
    public const long IgnoreIndex = SupervisedExample.IgnoredLabel;

    public required IReadOnlyList<long[]> InputIds { get; init; }
    public IReadOnlyList<long[]>? Labels { get; init; }
    public Tensor? PixelValues { get; init; }
    public Tensor? ImageFeatures { get; init; }

    public int ImageCount => InputIds.Sum(row => row.Count(id => id == ImageTokenIndex));

    /// <summary>
    /// A model batch of examples on <paramref name="device"/>: their ids, labels and the CLIP pixel
    /// values (N, 3, S, S) of their images in placeholder order. <paramref name="preparedPixels"/>
    /// (one per example, or null) holds pixel values decoded ahead of time (the trainer's prefetcher);
    /// other images are decoded here.
    /// </summary>
    public static LlavaBatch FromExamples(IReadOnlyList<SupervisedExample> examples, ClipVisionConfig vision, Device device, IReadOnlyList<Tensor?>? preparedPixels = null)
    {
        var pixels = new List<Tensor>();
        using var scope = NewDisposeScope();
        for (int i = 0; i < examples.Count; i++)
        {
            var example = examples[i];
            if (!example.HasImage) continue;
            if (example.ImageBytes is null)
                throw new LlavaModException($"row {example.Key}: the text has an image placeholder but the row stores no image bytes");
            pixels.Add(preparedPixels?[i] ?? ClipImageProcessor.FromEncoded(example.ImageBytes, example.Key, vision)); // (3, S, S)
        }
        var pixelValues = pixels.Count == 0 ? null : stack(pixels).to(device).MoveToOuterDisposeScope(); // (I, 3, S, S)
        return new LlavaBatch
        {
            InputIds = examples.Select(e => e.InputIds).ToList(),
            Labels = examples.Select(e => e.Labels).ToList(),
            PixelValues = pixelValues,
        };
    }
}

/// <summary>
/// A batch after image splicing: right-padded input embeddings [B, T, hidden], attention mask
/// [B, T] (int64, 1 = real position), expanded labels per row (images and padding are
/// <see cref="LlavaBatch.IgnoreIndex"/>) and the real length of each row.
/// </summary>
public sealed class LlavaInputs : IDisposable
{
    public required Tensor Embeds { get; init; }
    public required Tensor AttentionMask { get; init; }
    public required long[][] Labels { get; init; }
    public required int[] Lengths { get; init; }

    public void Dispose()
    {
        Embeds.Dispose();
        AttentionMask.Dispose();
    }
}

/// <summary>
/// Output of <see cref="LlavaModel.Forward"/>. With loss positions only, <see cref="Logits"/> is
/// [N, V] for the N positions whose next token carries a label, <see cref="Targets"/> [N] holds
/// those labels (as subset indices when a vocabulary subset is used) and <see cref="Rows"/> /
/// <see cref="Positions"/> say where each came from. Otherwise <see cref="Logits"/> is [B, T, V].
/// </summary>
public sealed class LlavaOutput : IDisposable
{
    public required Tensor Logits { get; init; }
    public Tensor? Targets { get; init; }
    public long[]? Rows { get; init; }
    public long[]? Positions { get; init; }
    public required Tensor AttentionMask { get; init; }

    public void Dispose()
    {
        Logits.Dispose();
        Targets?.Dispose();
        AttentionMask.Dispose();
    }
}
