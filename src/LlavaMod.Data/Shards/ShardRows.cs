using System.Text.Json.Serialization;

namespace LlavaMod.Data.Shards;

/// <summary>The image column: a struct {bytes, path}, the layout Hugging Face `datasets` reads as an Image feature.</summary>
public sealed class ImageCell
{
    [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
    [JsonPropertyName("path")] public string? Path { get; set; }
}

/// <summary>What the writer, statistics and de-duplication need from either row kind.</summary>
public interface IShardRow
{
    string Key { get; set; }
    string Source { get; }
    long SourceRow { get; }
    string? ImageSha256 { get; }
    string Conversation { get; }
    int NumTokens { get; }
    int? Width { get; }
    int? Height { get; }
    /// <summary>The row's size in memory for sizing row groups: image bytes, ids and text.</summary>
    long EstimatedBytes();
}

/// <summary>Columns every shard row has, whatever its kind.</summary>
public abstract class ShardRowBase : IShardRow
{
    /// <summary>img2dataset-style key: shard number (5 digits) then the row's offset in its source block.</summary>
    [JsonPropertyName("key")] public string Key { get; set; } = "";
    /// <summary>Input file name (not the full path, so outputs do not depend on where inputs lie).</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>0-based row (line, element) within the source file.</summary>
    [JsonPropertyName("source_row")] public long SourceRow { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("image")] public ImageCell? Image { get; set; }
    /// <summary>sha256 of the original image bytes as found in the source (before resizing).</summary>
    [JsonPropertyName("image_sha256")] public string? ImageSha256 { get; set; }
    [JsonPropertyName("original_width")] public int? OriginalWidth { get; set; }
    [JsonPropertyName("original_height")] public int? OriginalHeight { get; set; }
    [JsonPropertyName("width")] public int? Width { get; set; }
    [JsonPropertyName("height")] public int? Height { get; set; }
    [JsonPropertyName("original_format")] public string? OriginalFormat { get; set; }
    [JsonPropertyName("image_format")] public string? ImageFormat { get; set; }
    /// <summary>The normalised conversation as JSON: [{"role", "text"}, ...] (preference rows: {prompt, chosen, rejected}).</summary>
    [JsonPropertyName("conversation")] public string Conversation { get; set; } = "";
    [JsonPropertyName("num_tokens")] public int NumTokens { get; set; }

    public virtual long EstimatedBytes() =>
        (Image?.Bytes?.Length ?? 0) + 2L * (Conversation.Length + Key.Length + Source.Length + (Id?.Length ?? 0) + (Image?.Path?.Length ?? 0)) + 128;
}

/// <summary>A supervised (SFT / mimic) row: the tokenized conversation with its loss mask.</summary>
public sealed class ShardRow : ShardRowBase
{
    /// <summary>Token ids; the image placeholder is -200.</summary>
    [JsonPropertyName("input_ids")] public int[] InputIds { get; set; } = [];
    /// <summary>One byte per token: 1 where the loss applies (assistant tokens), else 0.</summary>
    [JsonPropertyName("label_mask")] public byte[] LabelMask { get; set; } = [];

    public override long EstimatedBytes() => base.EstimatedBytes() + 4L * InputIds.Length + LabelMask.Length;
}

/// <summary>A preference row: shared prompt, chosen and rejected answers, as text and token ids.</summary>
public sealed class PreferenceShardRow : ShardRowBase
{
    /// <summary>The prompt rendered by the chat template, ending where the assistant answer starts.</summary>
    [JsonPropertyName("prompt")] public string Prompt { get; set; } = "";
    [JsonPropertyName("chosen")] public string Chosen { get; set; } = "";
    [JsonPropertyName("rejected")] public string Rejected { get; set; } = "";
    [JsonPropertyName("prompt_ids")] public int[] PromptIds { get; set; } = [];
    /// <summary>Ids of the chosen answer as the template closes it (continuing prompt_ids).</summary>
    [JsonPropertyName("chosen_ids")] public int[] ChosenIds { get; set; } = [];
    [JsonPropertyName("rejected_ids")] public int[] RejectedIds { get; set; } = [];

    public override long EstimatedBytes() =>
        base.EstimatedBytes() + 2L * (Prompt.Length + Chosen.Length + Rejected.Length) + 4L * (PromptIds.Length + ChosenIds.Length + RejectedIds.Length);
}

/// <summary>Which row schema a dataset holds.</summary>
public enum ShardKind { Sft, Preference }
