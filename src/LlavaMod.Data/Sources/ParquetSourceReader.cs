using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using Parquet;
using Parquet.Serialization;

namespace LlavaMod.Data.Sources;

/// <summary>
/// Parquet inputs, one row group at a time: img2dataset output (image bytes in "jpg"/"image",
/// "caption", "status"), Hugging Face image datasets (image as binary or struct {bytes, path}),
/// RLAIF-V preference data (question, chosen, rejected, image), and LLaVA rows whose
/// "conversations" is a list of {from, value} or a JSON string.
/// </summary>
public static class ParquetSourceReader
{
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(string path, LlavaRowParser parser, SourceReaderOptions options,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int groups;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: ct);
            groups = reader.RowGroupCount;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
        {
            throw LlavaModException.ForFile(path, $"not a readable Parquet file: {e.Message}", e);
        }
        long index = 0;
        for (int g = 0; g < groups; g++)
        {
            stream.Position = 0;
            var result = await ParquetSerializer.DeserializeUntypedAsync(stream, rowGroupIndex: g, cancellationToken: ct);
            options.Position?.Set(stream.Length * (g + 1) / groups);
            foreach (var row in result.Data)
            {
                yield return ToRecord(row, path, index, parser, options);
                index++;
            }
        }
    }

    static SourceRecord ToRecord(IDictionary<string, object> row, string path, long index, LlavaRowParser parser, SourceReaderOptions options)
    {
        try
        {
            if (row.TryGetValue("status", out var status) && status is string s && s != "success")
                throw new RowRejectedException(RejectReasons.ImageMissing, $"img2dataset status '{s}'");
            ImageReference? image = null;
            var json = new JsonObject();
            foreach (var (name, value) in row)
            {
                if (image is null && options.ImageColumns.Contains(name) && ToImage(value) is { } img) { image = img; continue; }
                if (ToJson(value) is { } node) json[name] = node;
            }
            if (!json.ContainsKey("conversations") && !json.ContainsKey("chosen") && !json.ContainsKey("caption"))
                foreach (var c in options.CaptionColumns)
                    if (json[c] is JsonValue v && v.TryGetValue<string>(out var caption)) { json["caption"] = caption; break; }
            if (json["conversations"] is JsonValue text && text.TryGetValue<string>(out var convJson))
                json["conversations"] = JsonNode.Parse(convJson);
            if (!json.ContainsKey("id") && json["key"] is JsonNode key) json["id"] = key.DeepClone();
            using var doc = JsonDocument.Parse(json.ToJsonString());
            return parser.Parse(doc.RootElement, path, index, image);
        }
        catch (RowRejectedException e) { return SourceRecord.Failed(path, index, e.ReasonCode, e.Message); }
        catch (JsonException e) { return SourceRecord.Failed(path, index, RejectReasons.MalformedJson, $"'conversations' is not valid JSON: {e.Message}"); }
    }

    static ImageReference? ToImage(object? value) => value switch
    {
        byte[] bytes when bytes.Length > 0 => ImageReference.FromBytes(bytes, null),
        IDictionary<string, object> s when s.TryGetValue("bytes", out var b) && b is byte[] { Length: > 0 } bytes =>
            ImageReference.FromBytes(bytes, s.TryGetValue("path", out var p) ? p as string : null),
        IDictionary<string, object> s when s.TryGetValue("path", out var p) && p is string { Length: > 0 } rel => ImageReference.FromPath(rel),
        string { Length: > 0 } rel => ImageReference.FromPath(rel),
        _ => null,
    };

    static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        byte[] => null,
        bool b => JsonValue.Create(b),
        int or long or short or sbyte or byte or uint or ulong or ushort => JsonValue.Create(Convert.ToInt64(value)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value)),
        IDictionary<string, object> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, ToJson(kv.Value)))),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToJson).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };
}
