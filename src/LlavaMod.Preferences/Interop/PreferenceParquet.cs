using System.Collections;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlavaMod.Core;
using Parquet;
using Parquet.Serialization;

namespace LlavaMod.Preferences.Interop;

/// <summary>
/// Preference pairs in Parquet (Parquet.Net). Writes TRL DPOTrainer rows in the conversational format
/// (<see cref="TrlPreferenceRow"/>) with their `datasets` features (<see cref="TrlFeatures"/>); reads TRL
/// rows (<c>prompt</c>, <c>chosen</c>, <c>rejected</c> as strings or as message lists, optional <c>images</c>
/// as {bytes, path} structs or path strings, the teacher's log-probs as <c>teacher_chosen_logps</c>/
/// <c>teacher_rejected_logps</c> or <c>ref_chosen_logps</c>/<c>ref_rejected_logps</c>) and RLAIF-V release rows
/// (<c>question</c>, <c>chosen</c>, <c>rejected</c>, <c>image</c> {bytes, path}, <c>image_path</c>,
/// <c>ds_name</c>, <c>origin_dataset</c>, <c>origin_split</c>, <c>idx</c>), one row group at a time.
/// </summary>
public static class PreferenceParquet
{
    public const int RowsPerGroup = 2000;

    /// <summary>Writes TRL rows in row groups of <see cref="RowsPerGroup"/>; the file appears complete or not at all.</summary>
    public static async Task WriteTrlAsync(string path, IEnumerable<ExchangePair> pairs, CancellationToken ct = default)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // Appending row groups needs a readable stream, so this writes its own temp file (AtomicFile's is write-only).
        string temp = $"{full}{AtomicFile.TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                var chunk = new List<TrlPreferenceRow>(RowsPerGroup);
                var metadata = new Dictionary<string, string> { [TrlFeatures.MetadataKey] = TrlFeatures.Json() };
                bool any = false;
                foreach (var p in pairs)
                {
                    chunk.Add(ToTrl(p));
                    if (chunk.Count == RowsPerGroup)
                    {
                        await ParquetSerializer.SerializeAsync(chunk, stream, new ParquetOptions { Append = any }, metadata, ct);
                        any = true;
                        chunk.Clear();
                    }
                }
                if (chunk.Count > 0 || !any)
                    await ParquetSerializer.SerializeAsync(chunk, stream, new ParquetOptions { Append = any }, metadata, ct);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    static TrlPreferenceRow ToTrl(ExchangePair p)
    {
        bool image = p.ImagePath is not null || p.ImageBytes is not null;
        var question = new List<TrlContentPart>();
        if (image) question.Add(new TrlContentPart { Type = "image" });
        question.Add(Text(UserQuestion.Of(p.Prompt)));
        return new()
        {
            Id = p.Id ?? "",
            Prompt = [new TrlMessage { Role = "user", Content = question }],
            Chosen = [new TrlMessage { Role = "assistant", Content = [Text(p.Chosen)] }],
            Rejected = [new TrlMessage { Role = "assistant", Content = [Text(p.Rejected)] }],
            Images = image ? [new ImageCell { Bytes = p.ImageBytes, Path = p.ImagePath }] : [],
            TeacherChosenLogps = p.RefChosenLogp,
            TeacherRejectedLogps = p.RefRejectedLogp,
            Severity = p.Severity,
        };
    }

    static TrlContentPart Text(string text) => new() { Type = "text", Text = text };

    /// <summary>Reads a TRL or RLAIF-V preference Parquet file (told apart by its columns).</summary>
    public static async IAsyncEnumerable<ExchangePair> ReadAsync(string path, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "file not found");
        await using var stream = File.OpenRead(path);
        int groups;
        HashSet<string> columns;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: ct);
            groups = reader.RowGroupCount;
            columns = reader.Schema.Fields.Select(f => f.Name).ToHashSet();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
        {
            throw LlavaModException.ForFile(path, $"not a readable Parquet file: {e.Message}", e);
        }
        bool rlaif = columns.Contains("question");
        string promptColumn = rlaif ? "question" : "prompt";
        foreach (var required in new[] { promptColumn, "chosen", "rejected" })
            if (!columns.Contains(required))
                throw LlavaModException.ForFile(path, $"no '{required}' column; expected TRL (prompt, chosen, rejected) or RLAIF-V (question, chosen, rejected) columns, found: {string.Join(", ", columns.Order())}");
        long row = 0;
        for (int g = 0; g < groups; g++)
        {
            stream.Position = 0;
            var result = await ParquetSerializer.DeserializeUntypedAsync(stream, null, g, ct);
            foreach (var untyped in result.Data)
            {
                var r = Plain(untyped);
                row++;
                yield return rlaif ? FromRlaifV(r, path, row) : FromTrl(r, path, row);
            }
        }
    }

    static ExchangePair FromTrl(Dictionary<string, object?> r, string path, long row)
    {
        var (imagePath, imageBytes) = (default(string), default(byte[]));
        if (r.GetValueOrDefault("images") is { } images and not string)
        {
            var list = (images as IEnumerable ?? throw LlavaModException.ForRow(path, row, "'images' is not a list")).Cast<object?>().Where(x => x is not null).ToList();
            if (list.Count > 1) throw LlavaModException.ForRow(path, row, $"{list.Count} images; the pair index holds one image per prompt");
            if (list.Count == 1) (imagePath, imageBytes) = Image(list[0]!, path, row);
        }
        return new ExchangePair(OptionalText(r, "id"), Message(r, "prompt", "user", path, row), Message(r, "chosen", "assistant", path, row),
            Message(r, "rejected", "assistant", path, row), imagePath, imageBytes,
            Number(r, TrlPreferenceRow.TeacherChosenColumn, path, row) ?? Number(r, "ref_chosen_logps", path, row),
            Number(r, TrlPreferenceRow.TeacherRejectedColumn, path, row) ?? Number(r, "ref_rejected_logps", path, row),
            Number(r, "severity", path, row) ?? 1.0, null);
    }

    static ExchangePair FromRlaifV(Dictionary<string, object?> r, string path, long row)
    {
        var (imagePath, imageBytes) = r.GetValueOrDefault("image") is { } image ? Image(image, path, row) : (null, null);
        imagePath ??= OptionalText(r, "image_path");
        var meta = new SortedDictionary<string, string>();
        foreach (var key in new[] { "ds_name", "origin_dataset", "origin_split", "idx", "image_path" })
            if (OptionalText(r, key) is { } value) meta[key] = value;
        return new ExchangePair(OptionalText(r, "idx"), Text(r, "question", path, row), Text(r, "chosen", path, row), Text(r, "rejected", path, row),
            imagePath, imageBytes, Number(r, "ref_chosen_logps", path, row), Number(r, "ref_rejected_logps", path, row), 1.0,
            meta.Count == 0 ? null : JsonSerializer.Serialize(meta, Json.Compact));
    }

    static (string? Path, byte[]? Bytes) Image(object cell, string path, long row) => cell switch
    {
        string p => (p, null),
        IDictionary<string, object?> d => (d.TryGetValue("path", out var p) ? p as string : null, d.TryGetValue("bytes", out var b) ? b as byte[] : null),
        _ => throw LlavaModException.ForRow(path, row, $"image cell of type {cell.GetType().Name}; expected a {{bytes, path}} struct or a path string"),
    };

    /// <summary>Untyped values come as ReadOnlyMemory of chars or bytes; turns them (also inside structs
    /// and lists) into strings and byte arrays.</summary>
    static Dictionary<string, object?> Plain(IDictionary<string, object> row) =>
        row.ToDictionary(kv => kv.Key, kv => PlainValue(kv.Value));

    static object? PlainValue(object? value) => value switch
    {
        ReadOnlyMemory<char> chars => chars.ToString(),
        ReadOnlyMemory<byte> bytes => bytes.ToArray(),
        string or byte[] or null => value,
        IDictionary<string, object> d => Plain(d),
        IEnumerable list => list.Cast<object?>().Select(PlainValue).ToList(),
        _ => value,
    };

    static string Text(Dictionary<string, object?> r, string key, string path, long row) =>
        r.GetValueOrDefault(key) switch
        {
            string s => s,
            null => throw LlavaModException.ForRow(path, row, $"'{key}' is null"),
            var other => throw LlavaModException.ForRow(path, row, $"'{key}' is {other.GetType().Name}, expected a string"),
        };

    /// <summary>A TRL column in the standard (a string) or conversational format (a list of {role, content}
    /// messages, content a string or a list of {type, text} parts): the text of the last message of
    /// <paramref name="role"/>, its text parts joined.</summary>
    static string Message(Dictionary<string, object?> r, string key, string role, string path, long row)
    {
        if (r.GetValueOrDefault(key) is not List<object?> messages) return Text(r, key, path, row);
        var message = messages.OfType<Dictionary<string, object?>>().LastOrDefault(m => m.GetValueOrDefault("role") as string == role)
            ?? throw LlavaModException.ForRow(path, row, $"'{key}' has no message with role '{role}'");
        return message.GetValueOrDefault("content") switch
        {
            string s => s,
            List<object?> parts => string.Concat(parts.OfType<Dictionary<string, object?>>()
                .Where(p => p.GetValueOrDefault("type") as string == "text").Select(p => p.GetValueOrDefault("text") as string)),
            _ => throw LlavaModException.ForRow(path, row, $"'{key}': the content of the '{role}' message is neither a string nor a list of parts"),
        };
    }

    static string? OptionalText(Dictionary<string, object?> r, string key) => r.GetValueOrDefault(key) switch
    {
        null => null,
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var o => o.ToString(),
    };

    static double? Number(Dictionary<string, object?> r, string key, string path, long row) => r.GetValueOrDefault(key) switch
    {
        null => null,
        double d => d,
        float f => f,
        IConvertible c when c is not string => c.ToDouble(CultureInfo.InvariantCulture),
        var o => throw LlavaModException.ForRow(path, row, $"'{key}' is {o.GetType().Name}, expected a number"),
    };
}
