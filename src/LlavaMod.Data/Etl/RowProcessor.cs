using System.Text.Json;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Etl;

/// <summary>One source row after processing: a finished shard row, or the reason it was rejected.</summary>
public sealed record RowOutcome(long SourceRow, IShardRow? Row, UInt128 DedupKey, RejectRecord? Reject);

/// <summary>
/// The per-row work that runs in parallel: conversation checks, image loading/processing,
/// tokenization, and building the shard row. Pure given its inputs, so any thread count gives the same rows.
/// </summary>
public sealed class RowProcessor
{
    readonly IConversationEncoder _encoder;
    readonly IImageStage _images;
    readonly ShardKind _kind;
    readonly long _blockRows;
    readonly int _indexDigits;

    public RowProcessor(IConversationEncoder encoder, IImageStage images, ShardKind kind, long blockRows, int indexDigits)
    {
        _encoder = encoder; _images = images; _kind = kind; _blockRows = blockRows; _indexDigits = indexDigits;
    }

    /// <summary>Key of a global source row: 5-digit block, then the row's offset in the block.</summary>
    public static string KeyOf(long sourceRow, long blockRows, int indexDigits) =>
        (sourceRow / blockRows).ToString("D5") + (sourceRow % blockRows).ToString("D" + indexDigits);

    public RowOutcome Process(SourceInput input, SourceRecord record, long sourceRow)
    {
        string source = Path.GetFileName(record.SourceFile);
        if (record.Failure is { } failed)
            return Rejected(sourceRow, source, record, failed.ReasonCode, failed.Message);
        try
        {
            if (record.IsPreference != (_kind == ShardKind.Preference))
                throw new RowRejectedException("wrong_kind", $"a {(record.IsPreference ? "preference" : "conversation")} row in a {_kind.ToString().ToLowerInvariant()} dataset");
            var turns = ConversationRules.Normalise(record);
            StoredImage? image = record.Image is { } reference ? ProcessImage(input, reference) : null;
            ShardRowBase row = _kind == ShardKind.Sft ? BuildSft(turns) : BuildPreference(turns, record.Preference!);
            row.Key = KeyOf(sourceRow, _blockRows, _indexDigits);
            row.Source = source;
            row.SourceRow = record.SourceRow;
            row.Id = record.Id;
            if (image is not null)
            {
                row.Image = new ImageCell { Bytes = image.Bytes, Path = record.Image!.Path };
                row.ImageSha256 = image.OriginalSha256;
                row.OriginalWidth = image.OriginalWidth; row.OriginalHeight = image.OriginalHeight;
                row.Width = image.Width; row.Height = image.Height;
                row.OriginalFormat = image.OriginalFormat; row.ImageFormat = image.Format;
            }
            return new RowOutcome(sourceRow, row, DedupKeyOf(row), null);
        }
        catch (RowRejectedException e)
        {
            return Rejected(sourceRow, source, record, e.ReasonCode, e.Message);
        }
    }

    /// <summary>Any failure inside the image stage rejects the row (a crafted image must not stop a long run).</summary>
    StoredImage ProcessImage(SourceInput input, ImageReference reference)
    {
        byte[] bytes = LoadImage(input, reference);
        try { return _images.Process(bytes, reference.DisplayName); }
        catch (Exception e) when (e is not RowRejectedException and not OperationCanceledException and not OutOfMemoryException)
        {
            throw new RowRejectedException("image_unreadable", $"image '{reference.DisplayName}': {e.GetType().Name}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The de-duplication key of a stored row (same original image bytes and same conversation):
    /// the first 128 bits of a sha256, 16 bytes a row in memory (a collision needs ~2^64 rows).
    /// </summary>
    public static UInt128 DedupKeyOf(IShardRow row) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(
            System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes((row.ImageSha256 ?? "-") + "\n" + row.Conversation)));

    ShardRow BuildSft(IReadOnlyList<SourceTurn> turns)
    {
        var encoded = _encoder.Encode(turns);
        return new ShardRow
        {
            Conversation = JsonSerializer.Serialize(turns, Json.Compact),
            InputIds = encoded.InputIds, LabelMask = encoded.LabelMask, NumTokens = encoded.InputIds.Length,
        };
    }

    PreferenceShardRow BuildPreference(IReadOnlyList<SourceTurn> prompt, PreferencePair pair)
    {
        var encoded = _encoder.EncodePreference(prompt, pair.Chosen, pair.Rejected);
        return new PreferenceShardRow
        {
            Conversation = JsonSerializer.Serialize(new { prompt, chosen = pair.Chosen, rejected = pair.Rejected }, Json.Compact),
            Prompt = encoded.PromptText, Chosen = pair.Chosen, Rejected = pair.Rejected,
            PromptIds = encoded.PromptIds, ChosenIds = encoded.ChosenIds, RejectedIds = encoded.RejectedIds,
            NumTokens = encoded.PromptIds.Length + Math.Max(encoded.ChosenIds.Length, encoded.RejectedIds.Length),
        };
    }

    static byte[] LoadImage(SourceInput input, ImageReference reference)
    {
        if (reference.Bytes is { } inline) return inline;
        string? path = input.FindImage(reference.Path!)
            ?? throw new RowRejectedException(RejectReasons.ImageMissing,
                $"image '{reference.Path}' not found (looked for {string.Join(", ", input.Roots().Select(r => Path.Combine(r, reference.Path!)))})");
        try { return File.ReadAllBytes(path); }
        catch (IOException e) { throw new RowRejectedException(RejectReasons.ImageMissing, $"image '{path}' cannot be read: {e.Message}"); }
    }

    static RowOutcome Rejected(long sourceRow, string source, SourceRecord record, string reason, string message) =>
        new(sourceRow, null, default, new RejectRecord(source, record.SourceRow, record.Id, reason, message));
}
