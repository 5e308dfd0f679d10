using LlavaMod.Core;
using SixLabors.ImageSharp;

namespace LlavaMod.Data.Shards;

/// <summary>
/// `verify --deep`: decodes every page of every shard (so a page damaged behind a forged size and
/// sha256 is found) and checks each row against what the manifest says made it: its key (block and
/// offset of its source row), strictly increasing keys, token ids inside the recorded vocabulary (or
/// the image placeholder), a loss mask per token, num_tokens, and image bytes that decode to the
/// recorded width and height. Stops at the first problem of a shard.
/// </summary>
static class DeepShardCheck
{
    const int ImagePlaceholder = -200;

    public static async Task<VerifyProblem?> CheckAsync(string dir, DatasetManifest manifest, ShardEntry shard, CancellationToken ct)
    {
        string path = Path.Combine(dir, shard.File);
        var firstRowOf = FirstGlobalRowOfEachInput(manifest);
        string? previousKey = null;
        long index = 0;
        try
        {
            IAsyncEnumerable<ShardRowBase> rows = manifest.Kind == ShardKind.Sft
                ? ShardReader.ReadRows(path, ct)
                : ShardReader.ReadPreferenceRows(path, ct);
            await foreach (var row in rows)
            {
                string? problem = CheckRow(row, manifest, shard, firstRowOf, previousKey);
                if (problem is not null) return new(shard.File, $"row {index} (key {row.Key}): {problem}");
                previousKey = row.Key;
                index++;
            }
        }
        catch (LlavaModException e) { return new(shard.File, e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message); }
        return index == shard.Rows ? null : new(shard.File, $"decodes to {index} rows, the manifest says {shard.Rows}");
    }

    static string? CheckRow(ShardRowBase row, DatasetManifest m, ShardEntry shard, IReadOnlyDictionary<string, long>? firstRowOf, string? previousKey)
    {
        if (previousKey is not null && string.CompareOrdinal(row.Key, previousKey) <= 0) return $"key is not after the previous row's key {previousKey}";
        if (firstRowOf is not null && firstRowOf.TryGetValue(row.Source, out long first))
        {
            long global = first + row.SourceRow;
            string expected = $"{global / m.BlockRows:D5}{(global % m.BlockRows).ToString($"D{m.KeyIndexDigits}", System.Globalization.CultureInfo.InvariantCulture)}";
            if (row.Key != expected) return $"key should be {expected} ({row.Source} row {row.SourceRow})";
            if (global / m.BlockRows != shard.Block) return $"source row belongs to block {global / m.BlockRows}, not this shard's block {shard.Block}";
        }
        switch (row)
        {
            case ShardRow s:
                if (s.LabelMask.Length != s.InputIds.Length) return $"{s.LabelMask.Length} label_mask bytes for {s.InputIds.Length} input_ids";
                if (s.NumTokens != s.InputIds.Length) return $"num_tokens {s.NumTokens}, input_ids holds {s.InputIds.Length}";
                if (BadId(s.InputIds, m.VocabularySize) is { } bad) return $"input_ids holds {bad}, outside the vocabulary of {m.VocabularySize}";
                break;
            case PreferenceShardRow p:
                foreach (var (name, ids) in new[] { ("prompt_ids", p.PromptIds), ("chosen_ids", p.ChosenIds), ("rejected_ids", p.RejectedIds) })
                    if (BadId(ids, m.VocabularySize) is { } badId) return $"{name} holds {badId}, outside the vocabulary of {m.VocabularySize}";
                break;
        }
        if (row.Image?.Bytes is { } bytes)
        {
            IImageInfo? info;
            try { info = Image.Identify(bytes); }
            catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidDataException) { info = null; }
            if (info is null) return "image bytes do not decode";
            if (info.Width != row.Width || info.Height != row.Height)
                return $"image is {info.Width}×{info.Height}, the row records {row.Width}×{row.Height}";
        }
        else if (row.Width is not null) return "the row records an image size but stores no image bytes";
        return null;
    }

    static int? BadId(int[] ids, int? vocabulary)
    {
        foreach (int id in ids)
            if (id != ImagePlaceholder && (id < 0 || (vocabulary is int v && id >= v))) return id;
        return null;
    }

    /// <summary>Global source row of each input's first row (inputs in manifest order); null when two inputs share a file name.</summary>
    static Dictionary<string, long>? FirstGlobalRowOfEachInput(DatasetManifest m)
    {
        var first = new Dictionary<string, long>(StringComparer.Ordinal);
        long at = 0;
        foreach (var input in m.Inputs)
        {
            if (!first.TryAdd(input.File, at)) return null;
            at += input.SourceRows;
        }
        return first;
    }
}
