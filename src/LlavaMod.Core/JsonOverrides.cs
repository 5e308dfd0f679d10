using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlavaMod.Core;

/// <summary>
/// Command-line overrides of a JSON configuration: "lr=2e-5", "loss.beta=0.5",
/// "trainable=[\"model.mm_projector.*\"]". The value is parsed as JSON when it is valid JSON
/// (numbers, booleans, arrays, objects, quoted strings) and taken as a plain string otherwise.
/// Dotted names walk into nested objects, creating them when missing.
/// </summary>
public static class JsonOverrides
{
    public static JsonObject Apply(JsonObject config, IEnumerable<string> assignments, string source)
    {
        foreach (var assignment in assignments)
        {
            int eq = assignment.IndexOf('=');
            if (eq <= 0) throw new LlavaModException($"{source}: override '{assignment}' must look like name=value (e.g. lr=2e-5)");
            string[] path = assignment[..eq].Split('.');
            var target = config;
            foreach (var part in path[..^1])
            {
                if (target[part] is not JsonObject child)
                {
                    if (target[part] is not null)
                        throw new LlavaModException($"{source}: override '{assignment}': '{part}' is not an object");
                    child = new JsonObject();
                    target[part] = child;
                }
                target = child;
            }
            target[path[^1]] = ParseValue(assignment[(eq + 1)..]);
        }
        return config;
    }

    /// <summary>Loads a JSON object file (or an empty object when <paramref name="path"/> is null), applies overrides,
    /// deserialises strictly (<see cref="ConfigJson"/>): an unknown key in the file or in an override is an error.</summary>
    public static T Load<T>(string? path, IEnumerable<string> assignments)
    {
        string source = path ?? "command line";
        JsonObject root;
        if (path is null) root = new JsonObject();
        else
        {
            if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
            try
            {
                root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                    ?? throw LlavaModException.ForFile(path, "must hold a JSON object");
            }
            catch (JsonException e)
            {
                throw LlavaModException.ForFile(path, $"malformed JSON at line {e.LineNumber + 1}: {e.Message}", e);
            }
        }
        var list = assignments.ToList();
        Apply(root, list, source);
        return ConfigJson.Deserialize<T>(root.ToJsonString(), source,
            key => list.FirstOrDefault(a => a.StartsWith(key + "=", StringComparison.Ordinal)) is { } a ? $"from --set {a}" : null);
    }

    static JsonNode? ParseValue(string text)
    {
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return JsonValue.Create(text); }
    }
}
