using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace LlavaMod.Core;

/// <summary>
/// Reads the configuration files users write (stage configs, pipelines, source manifests): the
/// toolkit's JSON options with unmapped members disallowed, so a typo is an error rather than a
/// silently ignored key. The error names the file, the key's path and the closest known key at that
/// place ("did you mean max_steps?").
/// </summary>
public static partial class ConfigJson
{
    public static readonly JsonSerializerOptions Options = new(Json.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>Names other trainers use for keys of ours (Hugging Face TrainingArguments), suggested when typed.</summary>
    static readonly Dictionary<string, string> CommonNames = new()
    {
        ["learning_rate"] = "lr", ["num_train_epochs"] = "epochs", ["per_device_train_batch_size"] = "batch_size",
        ["gradient_accumulation_steps"] = "grad_accumulation", ["max_grad_norm"] = "max_grad_norm", ["logging_steps"] = "log_every",
        ["save_steps"] = "checkpoint_every", ["output_dir"] = "out", ["model_name_or_path"] = "model",
    };

    [GeneratedRegex("The JSON property '(?<name>.+?)' could not be mapped")]
    private static partial Regex UnmappedProperty();

    /// <summary>Deserialises <paramref name="json"/>; <paramref name="describeKey"/> may add where a key came from (e.g. a --set override).</summary>
    public static T Deserialize<T>(string json, string source, Func<string, string?>? describeKey = null)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw LlavaModException.ForFile(source, "is empty (JSON null)");
        }
        catch (JsonException e) when (UnmappedProperty().Match(e.Message) is { Success: true } m)
        {
            string name = m.Groups["name"].Value;
            var (parentPath, known) = KnownKeysAt(typeof(T), e.Path ?? "$", name);
            string key = parentPath.Length == 0 ? name : $"{parentPath}.{name}";
            string? closest = Closest(name, known);
            string origin = describeKey?.Invoke(key) is { } d ? $" ({d})" : "";
            string hint = closest is not null ? $"; did you mean {(parentPath.Length == 0 ? closest : $"{parentPath}.{closest}")}?"
                : known.Count > 0 ? $"; known keys here: {string.Join(", ", known)}" : "";
            throw LlavaModException.ForFile(source, $"unknown key '{key}'{origin}{hint}", e);
        }
        catch (JsonException e)
        {
            throw LlavaModException.ForFile(source, $"malformed JSON at {e.Path ?? "line " + (e.LineNumber + 1)}: {e.Message}", e);
        }
    }

    public static T ReadFile<T>(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        return Deserialize<T>(File.ReadAllText(path), path);
    }

    /// <summary>The keys a type declares at the object that holds <paramref name="name"/>, found by
    /// walking the exception's JSON path ("$.loss.chosen_nll_weight", "$.steps[2].agrs") through the
    /// serializer's own contract.</summary>
    static (string ParentPath, IReadOnlyList<string> Keys) KnownKeysAt(Type root, string jsonPath, string name)
    {
        var segments = Regex.Matches(jsonPath, @"\.(?<p>[^.\[\]]+)|\['(?<p>[^']+)'\]|\[(?<i>\d+)\]")
            .Select(x => x.Groups["p"].Success ? x.Groups["p"].Value : $"[{x.Groups["i"].Value}]").ToList();
        if (segments.Count > 0 && segments[^1] == name) segments.RemoveAt(segments.Count - 1);
        var type = root;
        var parent = new List<string>();
        foreach (var segment in segments)
        {
            if (segment.StartsWith('[')) { type = ElementType(type) ?? type; if (parent.Count > 0) parent[^1] += segment; continue; }
            var info = Options.GetTypeInfo(type);
            var property = info.Properties.FirstOrDefault(p => p.Name == segment);
            if (property is null) return (string.Join('.', parent), []);
            type = property.PropertyType;
            parent.Add(segment);
        }
        var target = Options.GetTypeInfo(type);
        var keys = target.Kind == JsonTypeInfoKind.Object ? target.Properties.Where(p => p.Set is not null).Select(p => p.Name).ToList() : [];
        return (string.Join('.', parent), keys);
    }

    static Type? ElementType(Type t) =>
        t.IsArray ? t.GetElementType()
        : t.GetInterfaces().Append(t).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    /// <summary>The known key nearest to <paramref name="name"/> by edit distance, when near enough to be a typo.</summary>
    public static string? Closest(string name, IEnumerable<string> known)
    {
        var knownList = known.ToList();
        if (CommonNames.TryGetValue(name, out var common) && knownList.Contains(common)) return common;
        known = knownList;
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var k in known)
        {
            int d = Distance(name, k);
            if (d < bestDistance) (best, bestDistance) = (k, d);
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 3) ? best : null;
    }

    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
