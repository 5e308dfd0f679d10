using System.Formats.Tar;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>
/// WebDataset tar shards: consecutive entries that share a key (the path up to the first dot of the
/// file name) form one sample: an image (jpg, jpeg, png, webp) and a caption (txt) or a LLaVA-style
/// JSON object (json: conversations, caption, or chosen/rejected). Read as a stream with System.Formats.Tar.
/// </summary>
public static class WebDatasetReader
{
    static readonly string[] ImageExtensions = ["jpg", "jpeg", "png", "webp"];
    static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static async IAsyncEnumerable<SourceRecord> ReadAsync(string path, LlavaRowParser parser, [EnumeratorCancellation] CancellationToken ct = default, ReadPosition? position = null)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using var tar = new TarReader(stream);
        string? key = null;
        var parts = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        long index = 0;
        while (true)
        {
            TarEntry? entry;
            try { entry = await tar.GetNextEntryAsync(copyData: false, ct); }
            catch (InvalidDataException e) { throw LlavaModException.ForFile(path, $"damaged tar after sample {index}: {e.Message}", e); }
            if (entry is not null && entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            var (entryKey, ext) = entry is null ? (null, "") : SplitName(entry.Name);
            if (key is not null && entryKey != key)
            {
                position?.Set(stream.Position);
                yield return ToRecord(path, index++, key, parts, parser);
                parts.Clear();
            }
            if (entry is null) yield break;
            key = entryKey;
            using var ms = new MemoryStream();
            if (entry.DataStream is not null) await entry.DataStream.CopyToAsync(ms, ct);
            parts[ext] = ms.ToArray();
        }
    }

    static (string Key, string Ext) SplitName(string name)
    {
        int slash = name.LastIndexOf('/');
        int dot = name.IndexOf('.', slash + 1);
        return dot < 0 ? (name, "") : (name[..dot], name[(dot + 1)..].ToLowerInvariant());
    }

    static SourceRecord ToRecord(string path, long index, string key, Dictionary<string, byte[]> parts, LlavaRowParser parser)
    {
        try
        {
            string? imageExt = ImageExtensions.FirstOrDefault(parts.ContainsKey);
            var image = imageExt is null ? null : ImageReference.FromBytes(parts[imageExt], $"{key}.{imageExt}");
            if (parts.TryGetValue("json", out var json))
            {
                try
                {
                    using var doc = JsonDocument.Parse(json);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object && (doc.RootElement.TryGetProperty("conversations", out _)
                        || doc.RootElement.TryGetProperty("chosen", out _) || !parts.ContainsKey("txt")))
                    {
                        var record = parser.Parse(doc.RootElement, path, index, image);
                        return record with { Id = record.Id ?? key };
                    }
                }
                catch (JsonException e) { throw new RowRejectedException(RejectReasons.MalformedJson, $"sample {key}: {key}.json: {e.Message}"); }
            }
            if (parts.TryGetValue("txt", out var txt))
            {
                string caption;
                try { caption = StrictUtf8.GetString(txt).Trim(); }
                catch (DecoderFallbackException) { throw new RowRejectedException(RejectReasons.NonUtf8, $"sample {key}: {key}.txt is not valid UTF-8"); }
                return new SourceRecord(path, index, key, image, parser.CaptionTurns(caption, image is not null));
            }
            throw new RowRejectedException(RejectReasons.MissingField, $"sample {key} has no .txt or .json (has: {string.Join(", ", parts.Keys)})");
        }
        catch (RowRejectedException e) { return SourceRecord.Failed(path, index, e.ReasonCode, e.Message) with { Id = key }; }
    }
}
