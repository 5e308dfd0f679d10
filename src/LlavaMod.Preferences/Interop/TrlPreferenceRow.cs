using System.Text.Json.Serialization;

namespace LlavaMod.Preferences.Interop;

/// <summary>One row of a TRL DPOTrainer preference dataset in TRL's conversational format, as TRL's own
/// RLAIF-V recipe writes it for vision models: <c>prompt</c> is one user message whose content is an
/// image part <c>{"type": "image"}</c> (when the pair has an image) and a text part with the question;
/// <c>chosen</c> and <c>rejected</c> are one assistant message each; <c>images</c> holds the image as
/// Hugging Face datasets' Image feature. The teacher's summed log-probs are under
/// <c>teacher_chosen_logps</c>/<c>teacher_rejected_logps</c>, names TRL neither reads nor writes (see
/// docs/preference-export.md for what TRL recomputes and how to use them as its reference).</summary>
public sealed class TrlPreferenceRow
{
    public const string TeacherChosenColumn = "teacher_chosen_logps", TeacherRejectedColumn = "teacher_rejected_logps";

    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("prompt")] public List<TrlMessage> Prompt { get; set; } = [];
    [JsonPropertyName("chosen")] public List<TrlMessage> Chosen { get; set; } = [];
    [JsonPropertyName("rejected")] public List<TrlMessage> Rejected { get; set; } = [];
    [JsonPropertyName("images")] public List<ImageCell> Images { get; set; } = [];
    [JsonPropertyName(TeacherChosenColumn)] public double? TeacherChosenLogps { get; set; }
    [JsonPropertyName(TeacherRejectedColumn)] public double? TeacherRejectedLogps { get; set; }
    [JsonPropertyName("severity")] public double Severity { get; set; }
}

/// <summary>A chat message: role ("user", "assistant") and content parts.</summary>
public sealed class TrlMessage
{
    [JsonPropertyName("role")] public string Role { get; set; } = "";
    [JsonPropertyName("content")] public List<TrlContentPart> Content { get; set; } = [];
}

/// <summary>A content part: <c>{"type": "image"}</c> (text null) or <c>{"type": "text", "text": …}</c>.</summary>
public sealed class TrlContentPart
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("text")] public string? Text { get; set; }
}

/// <summary>Hugging Face datasets' Image feature as stored in Parquet: struct {bytes, path}.</summary>
public sealed class ImageCell
{
    [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
    [JsonPropertyName("path")] public string? Path { get; set; }
}

/// <summary>A preference pair as read from or written to a file, independent of the format.</summary>
public sealed record ExchangePair(
    string? Id,
    string Prompt,
    string Chosen,
    string Rejected,
    string? ImagePath,
    byte[]? ImageBytes,
    double? RefChosenLogp,
    double? RefRejectedLogp,
    double Severity,
    string? MetaJson);

/// <summary>Formats <c>pairs export</c> writes.</summary>
public enum ExportFormat { Trl, LlavaMod }
