using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Evaluation.Formats;

/// <summary>
/// One line of LLaVA's answer format (<c>model_vqa_loader</c>'s output): <c>question_id</c> (as the
/// question had it), <c>prompt</c>, <c>text</c> (the answer), <c>answer_id</c>, <c>model_id</c>,
/// <c>metadata</c>. Any model's answer file reads the same way.
/// </summary>
public sealed record BenchmarkAnswer(string QuestionId, JsonNode IdValue, string Prompt, string Text, string ModelId, string AnswerId, JsonObject? Metadata = null)
{
    public long Line { get; init; }

    public static BenchmarkAnswer From(JsonLine line) => new(
        line.RequiredId("question_id"), line.Object["question_id"]!.DeepClone(), line.OptionalString("prompt") ?? "",
        line.RequiredString("text"), line.OptionalString("model_id") ?? "", line.OptionalString("answer_id") ?? "",
        line.Object["metadata"] as JsonObject) { Line = line.Line };

    public string ToJsonLine() => new JsonObject
    {
        ["question_id"] = IdValue.DeepClone(),
        ["prompt"] = Prompt,
        ["text"] = Text,
        ["answer_id"] = AnswerId,
        ["model_id"] = ModelId,
        ["metadata"] = Metadata?.DeepClone() ?? new JsonObject(),
    }.ToJsonString(Json.Compact);
}

public static class AnswerFile
{
    /// <summary>Every answer of a file; a line without question_id/text, or a question answered twice, is an error naming file and line.</summary>
    public static IReadOnlyList<BenchmarkAnswer> Read(string path)
    {
        var answers = new List<BenchmarkAnswer>();
        var seen = new Dictionary<string, long>();
        foreach (var line in JsonLines.Read(path))
        {
            var a = BenchmarkAnswer.From(line);
            if (!seen.TryAdd(a.QuestionId, line.Line))
                throw line.Error($"question_id {a.QuestionId} is answered twice (first at line {seen[a.QuestionId]})");
            answers.Add(a);
        }
        if (answers.Count == 0) throw LlavaModException.ForFile(path, "holds no answers");
        return answers;
    }

    /// <summary>The question ids already answered in a partly written file (a resumed run skips them). A torn
    /// last line (a killed run) is cut off; an earlier malformed line is an error.</summary>
    public static HashSet<string> ResumeIds(string path)
    {
        var ids = new HashSet<string>();
        if (!File.Exists(path)) return ids;
        var lines = File.ReadAllLines(path);
        int complete = lines.Length;
        if (complete > 0 && !IsJsonObject(lines[^1])) complete--;
        if (complete < lines.Length)
            AtomicFile.WriteAllText(path, string.Concat(lines.Take(complete).Select(l => l + "\n")));
        foreach (var line in JsonLines.Read(path)) ids.Add(line.RequiredId("question_id"));
        return ids;
    }

    /// <summary>Appends answers and flushes them to disk: a killed run loses at most the batch in flight.</summary>
    public static void Append(string path, IEnumerable<BenchmarkAnswer> answers)
    {
        var text = new StringBuilder();
        foreach (var a in answers) text.Append(a.ToJsonLine()).Append('\n');
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    static bool IsJsonObject(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return true;
        try { return JsonNode.Parse(text) is JsonObject; }
        catch (JsonException) { return false; }
    }
}
