using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>
/// Streams LLaVA-family JSON files. A top-level array is walked element by element with
/// System.Text.Json's DeserializeAsyncEnumerable (a 1 GB file never sits in memory); a syntax error
/// inside an array cannot be resynchronised, so it ends that file with one reject. JSONL is read line
/// by line as bytes: a malformed or non-UTF-8 line is one reject and the next line goes on.
/// </summary>
public static class JsonSourceReaders
{
    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static async IAsyncEnumerable<SourceRecord> ReadJsonArrayAsync(
        string path, LlavaRowParser parser, [EnumeratorCancellation] CancellationToken ct = default, ReadPosition? position = null)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var elements = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, topLevelValues: false, cancellationToken: ct)
            .GetAsyncEnumerator(ct);
        long index = 0;
        try
        {
            while (true)
            {
                SourceRecord? failure = null;
                bool more;
                try { more = await elements.MoveNextAsync(); }
                catch (JsonException e)
                {
                    failure = SourceRecord.Failed(path, index, RejectReasons.MalformedJson,
                        $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine}; the rest of this file is skipped: {e.Message}");
                    more = false;
                }
                if (failure is not null) { yield return failure; yield break; }
                if (!more) yield break;
                position?.Set(stream.Position);
                yield return ParseOne(parser, elements.Current, path, index);
                index++;
            }
        }
        finally { await elements.DisposeAsync(); }
    }

    public static async IAsyncEnumerable<SourceRecord> ReadJsonLinesAsync(
        string path, LlavaRowParser parser, [EnumeratorCancellation] CancellationToken ct = default, ReadPosition? position = null)
    {
        long index = 0;
        await foreach (var line in ReadLinesAsync(path, ct, position))
        {
            long row = index++;
            if (IsBlank(line.Span)) continue;
            if (!IsUtf8(line.Span))
            {
                yield return SourceRecord.Failed(path, row, RejectReasons.NonUtf8, $"line {row + 1} is not valid UTF-8");
                continue;
            }
            SourceRecord record;
            try
            {
                using var doc = JsonDocument.Parse(line);
                record = ParseOne(parser, doc.RootElement, path, row);
            }
            catch (JsonException e)
            {
                record = SourceRecord.Failed(path, row, RejectReasons.MalformedJson, $"line {row + 1}: malformed JSON: {e.Message}");
            }
            yield return record;
        }
    }

    static SourceRecord ParseOne(LlavaRowParser parser, JsonElement element, string path, long index)
    {
        try { return parser.Parse(element, path, index); }
        catch (RowRejectedException e) { return SourceRecord.Failed(path, index, e.ReasonCode, e.Message); }
        catch (InvalidOperationException e) // System.Text.Json: a string escape that is not valid UTF-16 (an unpaired surrogate such as \ud800)
        {
            return SourceRecord.Failed(path, index, RejectReasons.MalformedJson, $"row {index + 1}: a string is not valid UTF-16 text: {e.Message}");
        }
    }

    /// <summary>Lines of a file as raw bytes, without the trailing "\n" or "\r\n". Each line is a fresh array.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadLinesAsync(string path, [EnumeratorCancellation] CancellationToken ct = default, ReadPosition? position = null)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        var pending = new ArrayBufferWriter<byte>();
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(), ct)) > 0)
            {
                position?.Set(stream.Position);
                int start = 0;
                for (int i = 0; i < read; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    pending.Write(buffer.AsSpan(start, i - start));
                    yield return TakeLine(pending);
                    start = i + 1;
                }
                pending.Write(buffer.AsSpan(start, read - start));
            }
            if (pending.WrittenCount > 0) yield return TakeLine(pending);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    static ReadOnlyMemory<byte> TakeLine(ArrayBufferWriter<byte> pending)
    {
        var span = pending.WrittenSpan;
        if (span.Length > 0 && span[^1] == (byte)'\r') span = span[..^1];
        byte[] line = span.ToArray();
        pending.ResetWrittenCount();
        return line;
    }

    static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line) if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
        return true;
    }

    static bool IsUtf8(ReadOnlySpan<byte> line)
    {
        try { StrictUtf8.GetCharCount(line); return true; }
        catch (DecoderFallbackException) { return false; }
    }
}
