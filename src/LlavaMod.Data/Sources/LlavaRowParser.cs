using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>
/// Turns one JSON object of the LLaVA family into a <see cref="SourceRecord"/>:
/// conversation rows (`conversations` of {from, value}), caption rows (`caption`/`text` + `image`),
/// and preference rows (`chosen`/`rejected` as conversations, or as strings beside `question`).
/// Problems become <see cref="RowRejectedException"/>s with a reason code.
/// </summary>
public sealed class LlavaRowParser
{
    readonly string _captionPrompt;

    public LlavaRowParser(string captionPrompt) { _captionPrompt = captionPrompt; }

    /// <param name="inlineImage">The row's image when the container holds it (tar, Parquet); the JSON's "image" path is used otherwise.</param>
    public SourceRecord Parse(JsonElement row, string file, long index, ImageReference? inlineImage = null)
    {
        if (row.ValueKind != JsonValueKind.Object)
            throw new RowRejectedException(RejectReasons.MalformedRow, $"expected a JSON object, found {row.ValueKind}");
        string? id = ReadId(row);
        ImageReference? image = inlineImage ?? ReadImage(row);

        if (row.TryGetProperty("chosen", out var chosen) && row.TryGetProperty("rejected", out var rejected))
            return ParsePreference(row, file, index, id, image, chosen, rejected);

        if (row.TryGetProperty("conversations", out var conv))
            return new SourceRecord(file, index, id, image, ReadTurns(conv, "conversations"));

        string? caption = ReadString(row, "caption") ?? ReadString(row, "text");
        if (caption is not null)
            return new SourceRecord(file, index, id, image, CaptionTurns(caption, image is not null));

        throw new RowRejectedException(RejectReasons.MissingField,
            "row has none of 'conversations', 'caption'/'text', or 'chosen' + 'rejected'");
    }

    /// <summary>The conversation a caption row becomes: the caption prompt (with the image tag) then the caption.</summary>
    public IReadOnlyList<SourceTurn> CaptionTurns(string caption, bool hasImage) =>
    [
        new(SourceTurn.User, hasImage ? "<image>\n" + _captionPrompt : _captionPrompt),
        new(SourceTurn.Assistant, caption),
    ];

    SourceRecord ParsePreference(JsonElement row, string file, long index, string? id, ImageReference? image,
        JsonElement chosen, JsonElement rejected)
    {
        if (chosen.ValueKind == JsonValueKind.String && rejected.ValueKind == JsonValueKind.String)
        {
            string question = ReadString(row, "question") ?? ReadString(row, "prompt")
                ?? throw new RowRejectedException(RejectReasons.MissingField, "preference row with string answers has no 'question'");
            if (image is not null && !question.Contains(ConversationRules.ImageTag)) question = "<image>\n" + question;
            return new SourceRecord(file, index, id, image, [new(SourceTurn.User, question)],
                new PreferencePair(chosen.GetString()!, rejected.GetString()!));
        }
        var chosenTurns = ReadTurns(chosen, "chosen");
        var rejectedTurns = ReadTurns(rejected, "rejected");
        var (prompt, chosenAnswer) = SplitLastAnswer(chosenTurns, "chosen");
        var (_, rejectedAnswer) = SplitLastAnswer(rejectedTurns, "rejected");
        return new SourceRecord(file, index, id, image, prompt, new PreferencePair(chosenAnswer, rejectedAnswer));
    }

    static (IReadOnlyList<SourceTurn> Prompt, string Answer) SplitLastAnswer(IReadOnlyList<SourceTurn> turns, string field)
    {
        if (turns.Count == 0 || turns[^1].Role != SourceTurn.Assistant)
            throw new RowRejectedException(RejectReasons.NoAssistantTurn, $"'{field}' does not end with an assistant turn");
        return (turns.Take(turns.Count - 1).ToArray(), turns[^1].Text);
    }

    static IReadOnlyList<SourceTurn> ReadTurns(JsonElement array, string field)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw new RowRejectedException(RejectReasons.MalformedRow, $"'{field}' is not an array");
        var turns = new List<SourceTurn>(array.GetArrayLength());
        int i = 0;
        foreach (var turn in array.EnumerateArray())
        {
            if (turn.ValueKind != JsonValueKind.Object)
                throw new RowRejectedException(RejectReasons.MalformedRow, $"'{field}'[{i}] is not an object");
            string from = ReadString(turn, "from") ?? ReadString(turn, "role")
                ?? throw new RowRejectedException(RejectReasons.MissingField, $"'{field}'[{i}] has no 'from'");
            string value = ReadString(turn, "value") ?? ReadString(turn, "content")
                ?? throw new RowRejectedException(RejectReasons.MissingField, $"'{field}'[{i}] has no string 'value'");
            turns.Add(new SourceTurn(MapRole(from, field, i), value));
            i++;
        }
        return turns;
    }

    static string MapRole(string from, string field, int i) => from.ToLowerInvariant() switch
    {
        "human" or "user" => SourceTurn.User,
        "gpt" or "assistant" or "bot" => SourceTurn.Assistant,
        "system" => SourceTurn.System,
        _ => throw new RowRejectedException(RejectReasons.UnknownRole, $"'{field}'[{i}] has unknown role '{from}'"),
    };

    static string? ReadId(JsonElement row)
    {
        if (!row.TryGetProperty("id", out var id)) return null;
        return id.ValueKind switch
        {
            JsonValueKind.String => id.GetString(),
            JsonValueKind.Number => id.GetRawText(),
            _ => null,
        };
    }

    static ImageReference? ReadImage(JsonElement row)
    {
        if (!row.TryGetProperty("image", out var image)) return null;
        switch (image.ValueKind)
        {
            case JsonValueKind.Null: return null;
            case JsonValueKind.String:
                string path = image.GetString()!;
                return path.Length == 0 ? null : ImageReference.FromPath(path);
            case JsonValueKind.Array when image.GetArrayLength() == 1 && image[0].ValueKind == JsonValueKind.String:
                return ImageReference.FromPath(image[0].GetString()!);
            case JsonValueKind.Array:
                throw new RowRejectedException(RejectReasons.MultipleImageTags,
                    $"'image' lists {image.GetArrayLength()} images; one image per row is supported");
            default:
                throw new RowRejectedException(RejectReasons.MalformedRow, $"'image' is a {image.ValueKind}, expected a path string");
        }
    }

    static string? ReadString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
