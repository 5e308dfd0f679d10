using System.Text.Encodings.Web;
using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Preferences.Interop;

/// <summary>
/// LLaVA-MoD / RLAIF-V preference JSON: <c>{"id", "image", "chosen": [human, gpt], "rejected": [human, gpt]}</c>
/// with turns <c>{"from", "value"}</c>. The human turn is the plain user question, preceded by exactly one
/// <c>"&lt;image&gt;\n"</c> when there is an image, never a rendered chat template: LLaVA-MoD applies its
/// own template when it tokenizes. A JSON array (".json") or one object per line (".jsonl"). Extra keys
/// this toolkit adds and reads back: <c>ref_chosen_logps</c>, <c>ref_rejected_logps</c> (teacher summed
/// log-probs), <c>severity</c>. Reading accepts a rendered prompt in the human turn (files written by
/// older versions) and keeps only its question, so it is never templated twice.
/// </summary>
public static class LlavaModPreferenceJson
{
    public const string ImageToken = UserQuestion.ImageToken;

    public static void Write(string path, IEnumerable<ExchangePair> pairs)
    {
        bool lines = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        AtomicFile.Write(path, stream =>
        {
            var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };
            using var writer = new Utf8JsonWriter(stream, options);
            if (!lines) writer.WriteStartArray();
            foreach (var p in pairs)
            {
                WritePair(writer, p);
                if (lines)
                {
                    writer.Flush();
                    stream.WriteByte((byte)'\n');
                    writer.Reset(stream);
                }
            }
            if (!lines) writer.WriteEndArray();
            writer.Flush();
            if (!lines) stream.WriteByte((byte)'\n');
        });
    }

    static void WritePair(Utf8JsonWriter w, ExchangePair p)
    {
        w.WriteStartObject();
        if (p.Id is not null) w.WriteString("id", p.Id);
        if (p.ImagePath is not null) w.WriteString("image", p.ImagePath);
        string question = UserQuestion.Of(p.Prompt);
        string human = p.ImagePath is null && p.ImageBytes is null ? question : $"{ImageToken}\n{question}";
        foreach (var (key, answer) in new[] { ("chosen", p.Chosen), ("rejected", p.Rejected) })
        {
            w.WriteStartArray(key);
            w.WriteStartObject(); w.WriteString("from", "human"); w.WriteString("value", human); w.WriteEndObject();
            w.WriteStartObject(); w.WriteString("from", "gpt"); w.WriteString("value", answer); w.WriteEndObject();
            w.WriteEndArray();
        }
        if (p.RefChosenLogp is { } rc) w.WriteNumber("ref_chosen_logps", rc);
        if (p.RefRejectedLogp is { } rr) w.WriteNumber("ref_rejected_logps", rr);
        w.WriteNumber("severity", p.Severity);
        w.WriteEndObject();
    }

    /// <summary>Reads pairs with their 1-based row numbers; bad rows raise an error naming file and row.</summary>
    public static IEnumerable<ExchangePair> Read(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        using var reader = new StreamReader(path);
        int first;
        while ((first = reader.Peek()) >= 0 && char.IsWhiteSpace((char)first)) reader.Read();
        if (first == '[')
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(reader.ReadToEnd()); }
            catch (JsonException e) { throw LlavaModException.ForFile(path, $"malformed JSON: {e.Message}", e); }
            using (doc)
            {
                long row = 0;
                foreach (var element in doc.RootElement.EnumerateArray())
                    yield return Parse(element, path, ++row);
            }
            yield break;
        }
        long line = 0;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { throw LlavaModException.ForRow(path, line, $"malformed JSON: {e.Message}", e); }
            using (doc) yield return Parse(doc.RootElement, path, line);
        }
    }

    static ExchangePair Parse(JsonElement e, string path, long row)
    {
        if (e.ValueKind != JsonValueKind.Object) throw LlavaModException.ForRow(path, row, "expected a JSON object");
        var (chosenHuman, chosen) = Turns(e, "chosen", path, row);
        var (rejectedHuman, rejected) = Turns(e, "rejected", path, row);
        if (chosenHuman != rejectedHuman)
            throw LlavaModException.ForRow(path, row, "the human turns of chosen and rejected differ (one prompt per pair expected)");
        string? image = e.TryGetProperty("image", out var img) && img.ValueKind == JsonValueKind.String ? img.GetString() : null;
        string? id = e.TryGetProperty("id", out var idElement) ? idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : idElement.GetRawText() : null;
        return new ExchangePair(id, UserQuestion.Of(chosenHuman), chosen, rejected, image, null,
            Number(e, "ref_chosen_logps", path, row), Number(e, "ref_rejected_logps", path, row),
            Number(e, "severity", path, row) ?? 1.0, null);
    }

    static (string Human, string Gpt) Turns(JsonElement e, string key, string path, long row)
    {
        if (!e.TryGetProperty(key, out var turns) || turns.ValueKind != JsonValueKind.Array || turns.GetArrayLength() != 2)
            throw LlavaModException.ForRow(path, row, $"'{key}' must be a list of two turns [human, gpt]");
        string Value(JsonElement t, string from)
        {
            if (t.ValueKind != JsonValueKind.Object || !t.TryGetProperty("from", out var f) || f.GetString() != from
                || !t.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.String)
                throw LlavaModException.ForRow(path, row, $"'{key}' turns must be {{\"from\": \"human\"}} then {{\"from\": \"gpt\"}}, each with a string \"value\"");
            return v.GetString()!;
        }
        return (Value(turns[0], "human"), Value(turns[1], "gpt"));
    }

    static double? Number(JsonElement e, string key, string path, long row)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw LlavaModException.ForRow(path, row, $"'{key}' must be a number");
        return v.GetDouble();
    }
}
