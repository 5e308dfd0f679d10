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
    /// <summary>The label of a token no loss trains on (PyTorch's <c>ignore_index</c>): prompt, image and padding tokens.</summary>
    public const long IgnoreIndex = -100;

    public required IReadOnlyList<long[]> InputIds { get; init; }
    public IReadOnlyList<long[]>? Labels { get; init; }
    public Tensor? PixelValues { get; init; }
    public Tensor? ImageFeatures { get; init; }

    public int ImageCount => InputIds.Sum(row => row.Count(id => id == ImageTokenIndex));
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
