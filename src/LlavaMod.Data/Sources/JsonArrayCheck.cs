using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>Where a JSON array file stops being readable, and how much of it is lost from there.</summary>
/// <param name="Line">1-based line of the syntax error.</param>
/// <param name="BytePosition">0-based byte in that line.</param>
/// <param name="UnreadBytes">Bytes after the last whole element: the rows there are lost.</param>
/// <param name="WholeElements">Elements read whole before the break.</param>
public sealed record SourceDamage(string File, long Line, long BytePosition, long UnreadBytes, long WholeElements, string Reason)
{
    public override string ToString() =>
        $"malformed JSON at line {Line}, byte {BytePosition} ({Reason}); {WholeElements:N0} rows before it are whole, the {UnreadBytes:N0} bytes after them are lost";
}

/// <summary>
/// A cheap pass over a LLaVA JSON file before any work (Utf8JsonReader, no element is materialised):
/// a file that is not one list of rows is refused outright, and one that cannot be read to its end
/// (truncated, a syntax error mid-file) is reported with line, byte and what would be lost, so the
/// run can stop before writing anything instead of silently keeping the rows before the break.
/// </summary>
public static class JsonArrayCheck
{
    public static SourceDamage? Scan(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long length = stream.Length;
        byte[] buffer = new byte[1 << 20];
        int filled = 0;
        long offset = 0, lastWholeEnd = 0, elements = 0;
        var state = new JsonReaderState();
        bool first = true, final = false;
        while (true)
        {
            int n = final ? 0 : stream.Read(buffer, filled, buffer.Length - filled);
            if (n == 0) final = true;
            filled += n;
            int start = 0;
            if (offset == 0 && filled >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF) { start = 3; offset = 3; lastWholeEnd = 3; }
            var reader = new Utf8JsonReader(buffer.AsSpan(start, filled - start), final, state);
            try
            {
                while (reader.Read())
                {
                    if (first)
                    {
                        first = false;
                        if (reader.TokenType != JsonTokenType.StartArray)
                            throw LlavaModException.ForFile(path, $"the top-level JSON value is {Describe(reader.TokenType)}, not a list of rows; a LLaVA JSON file is one array [{{...}}, {{...}}] (JSON lines go in a .jsonl file)");
                        continue;
                    }
                    // depth 1 after the token: an element of the top-level array has just ended
                    if (reader.CurrentDepth == 1 && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.PropertyName))
                    {
                        elements++;
                        lastWholeEnd = offset + reader.BytesConsumed;
                    }
                    else if (reader.CurrentDepth == 0 && reader.TokenType == JsonTokenType.EndArray) lastWholeEnd = length;
                }
            }
            catch (JsonException e)
            {
                return new SourceDamage(path, (e.LineNumber ?? 0) + 1, e.BytePositionInLine ?? 0, length - lastWholeEnd, elements, FirstSentence(e.Message));
            }
            if (final)
                return first ? new SourceDamage(path, 1, 0, length, 0, "the file holds no JSON value") : null;
            int consumed = start + (int)reader.BytesConsumed;
            state = reader.CurrentState;
            Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
            filled -= consumed;
            offset += consumed - start;
            if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2); // one token longer than the buffer
        }
    }

    static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };

    static string FirstSentence(string message)
    {
        int cut = message.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.');
    }
}
