using System.Runtime.CompilerServices;
using System.Text;
using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>
/// CSV/TSV caption pairs with a header row: the image path column and the caption column are
/// found by name (<see cref="SourceReaderOptions.ImageColumns"/>, <see cref="SourceReaderOptions.CaptionColumns"/>).
/// Quoted fields (RFC 4180: "" for a quote, separators and newlines inside quotes) are supported.
/// </summary>
public static class CaptionTableReader
{
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(string path, char separator, LlavaRowParser parser, SourceReaderOptions options,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var header = await ReadRecordAsync(reader, separator, ct) ?? throw LlavaModException.ForFile(path, "is empty (no header row)");
        int imageCol = FindColumn(header, options.ImageColumns);
        int captionCol = FindColumn(header, options.CaptionColumns);
        if (captionCol < 0)
            throw LlavaModException.ForFile(path, $"no caption column (looked for {string.Join(", ", options.CaptionColumns)}; header: {string.Join(", ", header)})");
        long index = 0;
        while (await ReadRecordAsync(reader, separator, ct) is { } fields)
        {
            long row = index++;
            options.Position?.Set(reader.BaseStream.Position);
            if (fields.Count == 1 && fields[0].Length == 0) continue;
            if (fields.Count != header.Count)
            {
                yield return SourceRecord.Failed(path, row, RejectReasons.MalformedRow, $"row {row + 1} has {fields.Count} fields, the header has {header.Count}");
                continue;
            }
            string caption = fields[captionCol];
            if (caption.Contains('\uFFFD') || (imageCol >= 0 && fields[imageCol].Contains('\uFFFD')))
            {
                yield return SourceRecord.Failed(path, row, RejectReasons.NonUtf8, $"row {row + 1} is not valid UTF-8");
                continue;
            }
            var image = imageCol >= 0 && fields[imageCol].Length > 0 ? ImageReference.FromPath(fields[imageCol]) : null;
            if (string.IsNullOrWhiteSpace(caption))
            {
                yield return SourceRecord.Failed(path, row, RejectReasons.MissingField, $"row {row + 1} has an empty caption");
                continue;
            }
            yield return new SourceRecord(path, row, null, image, parser.CaptionTurns(caption, image is not null));
        }
    }

    static int FindColumn(List<string> header, IReadOnlyList<string> names)
    {
        foreach (var name in names)
        {
            int i = header.FindIndex(h => string.Equals(h.Trim(), name, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) return i;
        }
        return -1;
    }

    /// <summary>One record (which may span lines inside quotes), or null at the end of the file.</summary>
    static async Task<List<string>?> ReadRecordAsync(StreamReader reader, char separator, CancellationToken ct)
    {
        string? line = await reader.ReadLineAsync(ct);
        if (line is null) return null;
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        while (true)
        {
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else field.Append(c);
                }
                else if (c == '"' && field.Length == 0) quoted = true;
                else if (c == separator) { fields.Add(field.ToString()); field.Clear(); }
                else field.Append(c);
            }
            if (!quoted) break;
            line = await reader.ReadLineAsync(ct);
            if (line is null) break;
            field.Append('\n');
        }
        fields.Add(field.ToString());
        return fields;
    }
}
