using System.Text.Json.Serialization;

namespace LlavaMod.Preferences.Interop;

/// <summary>One row of a TRL DPOTrainer preference dataset (standard, not conversational format), with
/// the reference log-probs under the column names TRL's <c>precompute_ref_log_probs</c> uses, so
/// DPOTrainer skips the reference model. <c>images</c> follows Hugging Face datasets' Image feature:
/// a list of {bytes, path} structs (bytes null when only the path is exported).</summary>
public sealed class TrlPreferenceRow
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("prompt")] public string Prompt { get; set; } = "";
    [JsonPropertyName("chosen")] public string Chosen { get; set; } = "";
    [JsonPropertyName("rejected")] public string Rejected { get; set; } = "";
    [JsonPropertyName("images")] public List<ImageCell> Images { get; set; } = [];
    [JsonPropertyName("ref_chosen_logps")] public double? RefChosenLogps { get; set; }
    [JsonPropertyName("ref_rejected_logps")] public double? RefRejectedLogps { get; set; }
    [JsonPropertyName("severity")] public double Severity { get; set; }
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
