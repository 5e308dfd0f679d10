using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Evaluation.Formats;

/// <summary>One JSON object of a JSONL file with its 1-based line number, for errors that name both.</summary>
public sealed record JsonLine(string Path, long Line, JsonObject Object)
{
    public LlavaModException Error(string reason) => LlavaModException.ForFile(Path, $"line {Line}: {reason}");

    /// <summary>A required id field (LLaVA's files hold numbers or strings): its text, or an error naming the line.</summary>
    public string RequiredId(string key) => Object[key] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) && s.Length > 0 => s,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        null => throw Error($"no \"{key}\""),
        _ => throw Error($"\"{key}\" must be a number or a non-empty string"),
    };

    public string RequiredString(string key) => OptionalString(key) ?? throw Error($"no \"{key}\" (a string)");

    public string? OptionalString(string key) => Object[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw Error($"\"{key}\" must be a string"),
    };
}

/// <summary>Reads JSONL files line by line (blank lines skipped); a malformed line is an error naming file and line.</summary>
public static class JsonLines
{
    public static IEnumerable<JsonLine> Read(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        long number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(text); }
            catch (JsonException e) { throw LlavaModException.ForFile(path, $"line {number}: malformed JSON ({e.Message})", e); }
            if (node is not JsonObject obj) throw LlavaModException.ForFile(path, $"line {number}: expected a JSON object");
            yield return new JsonLine(path, number, obj);
        }
    }

    /// <summary>The objects of a JSONL file, or of a JSON array file (POPE's and LLaVA's annotation files come in both shapes).</summary>
    public static IEnumerable<JsonLine> ReadLinesOrArray(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        using (var reader = new StreamReader(path))
        {
            int c;
            while ((c = reader.Peek()) >= 0 && char.IsWhiteSpace((char)c)) reader.Read();
            if (c != '[') return Read(path);
        }
        JsonArray array;
        try { array = JsonNode.Parse(File.ReadAllText(path)) as JsonArray ?? throw LlavaModException.ForFile(path, "expected a JSON array"); }
        catch (JsonException e) { throw LlavaModException.ForFile(path, $"malformed JSON ({e.Message})", e); }
        return array.Select((node, i) => node is JsonObject o ? new JsonLine(path, i + 1, o)
            : throw LlavaModException.ForFile(path, $"element {i + 1}: expected a JSON object"));
    }
}
