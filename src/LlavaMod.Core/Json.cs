using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlavaMod.Core;

/// <summary>The one set of JSON options the toolkit writes with (manifests, reports, configs).</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Compact variant for one-line records (JSONL, Parquet string columns).</summary>
    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json, string sourceName)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options)
                ?? throw LlavaModException.ForFile(sourceName, "is empty (JSON null)");
        }
        catch (JsonException e)
        {
            throw LlavaModException.ForFile(sourceName, $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine}: {e.Message}", e);
        }
    }

    public static T ReadFile<T>(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        return Deserialize<T>(File.ReadAllText(path), path);
    }

    public static void WriteFileAtomic<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");
}
