using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Training.Metrics;

/// <summary>
/// Per-step metrics as JSON Lines (metrics.jsonl): one object per logged step with "step" and
/// every metric by name (loss terms, lr, grad_norm, tokens_per_s, expert loads, DPO rewards).
/// Each line is flushed as written. On resume, lines after the resumed step are dropped first so
/// a stopped-and-resumed run ends with the same file as one that never stopped.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _writer;
    public string Path { get; }

    public MetricsLog(string path, long resumeAfterStep = -1)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        if (resumeAfterStep >= 0 && File.Exists(path))
        {
            var kept = Read(path).Where(r => r.Step <= resumeAfterStep).Select(r => r.Line).ToList();
            AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
        else if (resumeAfterStep < 0 && File.Exists(path))
        {
            File.Delete(path);
        }
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public void Write(long step, IReadOnlyDictionary<string, double> metrics)
    {
        var line = new JsonObject { ["step"] = step };
        foreach (var (name, value) in metrics)
            line[name] = double.IsFinite(value) ? value : null;
        _writer.WriteLine(line.ToJsonString());
    }

    public sealed record Row(long Step, Dictionary<string, double> Values, string Line);

    /// <summary>Reads a metrics file back; a torn last line (killed writer) is ignored.</summary>
    public static IEnumerable<Row> Read(string path)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonObject? obj;
            try { obj = JsonNode.Parse(line) as JsonObject; }
            catch (JsonException) { yield break; }
            if (obj?["step"] is null) continue;
            var values = obj.Where(kv => kv.Key != "step" && kv.Value is JsonValue)
                .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>());
            yield return new Row(obj["step"]!.GetValue<long>(), values, line);
        }
    }

    public void Dispose() => _writer.Dispose();
}
