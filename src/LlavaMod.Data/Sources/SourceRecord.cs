using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>One turn of a conversation as a source file states it: role is "system", "user" or "assistant".</summary>
public sealed record SourceTurn(string Role, string Text)
{
    public const string System = "system", User = "user", Assistant = "assistant";
}

/// <summary>Where a row's image comes from: a path relative to the image root(s), or bytes inline in the source.</summary>
public sealed record ImageReference(string? Path, byte[]? Bytes)
{
    public static ImageReference FromPath(string path) => new(path, null);
    public static ImageReference FromBytes(byte[] bytes, string? name) => new(name, bytes);
    public string DisplayName => Path ?? "(inline image)";
}

/// <summary>The two answers of a preference row, after the shared prompt turns.</summary>
public sealed record PreferencePair(string Chosen, string Rejected);

/// <summary>
/// One row of an input file as a reader yields it, before any image decoding or tokenization:
/// either a usable record or a failure (<see cref="Failure"/> set) that the pipeline writes to the
/// rejects file while the run goes on. <see cref="SourceRow"/> is 0-based within <see cref="SourceFile"/>
/// (line number − 1 for JSONL, element index for JSON arrays, row index for Parquet/CSV, sample index for tar).
/// </summary>
public sealed record SourceRecord(
    string SourceFile,
    long SourceRow,
    string? Id,
    ImageReference? Image,
    IReadOnlyList<SourceTurn> Turns,
    PreferencePair? Preference = null,
    RowRejectedException? Failure = null)
{
    public static SourceRecord Failed(string file, long row, string reasonCode, string message) =>
        new(file, row, null, null, Array.Empty<SourceTurn>(), null, new RowRejectedException(reasonCode, message));

    public bool IsPreference => Preference is not null;
}

/// <summary>Stable reason codes for rejected rows (statistics group by these).</summary>
public static class RejectReasons
{
    public const string MalformedJson = "malformed_json";
    public const string NonUtf8 = "non_utf8";
    public const string MissingField = "missing_field";
    public const string NoAssistantTurn = "no_assistant_turn";
    public const string NoUserTurn = "no_user_turn";
    public const string MultipleImageTags = "multiple_image_tags";
    public const string ImageTagWithoutImage = "image_tag_without_image";
    public const string ImageMissing = "image_missing";
    public const string UnknownRole = "unknown_role";
    public const string MalformedRow = "malformed_row";
    public const string UnreadableFile = "unreadable_file";
}
