using System.Text.Json.Nodes;
using LlavaMod.Core;

namespace LlavaMod.Evaluation.Formats;

/// <summary>
/// One line of LLaVA's question format (<c>model_vqa_loader</c>'s input): <c>question_id</c>
/// (number or string), <c>image</c> (path relative to the image root), <c>text</c> (the question,
/// answer-format instruction included), optional <c>category</c>. <see cref="Fields"/> keeps the
/// whole object for benchmark fields such as POPE's <c>label</c> or COCO's <c>image_id</c>.
/// </summary>
public sealed record BenchmarkQuestion(string QuestionId, JsonNode IdValue, string Image, string Text, string? Category, JsonObject Fields, long Line)
{
    public static BenchmarkQuestion From(JsonLine line) => new(
        line.RequiredId("question_id"), line.Object["question_id"]!.DeepClone(), line.RequiredString("image"),
        line.RequiredString("text"), line.OptionalString("category"), line.Object, line.Line);
}

public static class QuestionFile
{
    /// <summary>Every question of a file; a line without question_id/image/text, or a repeated question_id, is an error naming file and line.</summary>
    public static IReadOnlyList<BenchmarkQuestion> Read(string path)
    {
        var questions = new List<BenchmarkQuestion>();
        var seen = new Dictionary<string, long>();
        foreach (var line in JsonLines.ReadLinesOrArray(path))
        {
            var q = BenchmarkQuestion.From(line);
            if (!seen.TryAdd(q.QuestionId, line.Line))
                throw line.Error($"question_id {q.QuestionId} repeats line {seen[q.QuestionId]}");
            questions.Add(q);
        }
        if (questions.Count == 0) throw LlavaModException.ForFile(path, "holds no questions");
        return questions;
    }
}
