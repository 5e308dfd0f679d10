namespace LlavaMod.Data.Images;

/// <summary>
/// An image ready to be stored. <paramref name="Format"/> is the format of <paramref name="Bytes"/>
/// ("jpeg", "png"); <paramref name="OriginalFormat"/> is what the input's content is (detected from
/// the bytes, never from the file name). Original sizes are after EXIF orientation, as a viewer shows
/// them. <paramref name="OriginalSha256"/> is the lowercase hex SHA-256 of the input bytes.
/// </summary>
public sealed record ProcessedImage(
    byte[] Bytes,
    string Format,
    string OriginalFormat,
    int OriginalWidth,
    int OriginalHeight,
    int Width,
    int Height,
    string OriginalSha256)
{
    /// <summary>True when <see cref="Bytes"/> are the input bytes, unchanged.</summary>
    public bool IsOriginalBytes { get; init; }
}
