namespace LlavaMod.Data.Images;

/// <summary>
/// Limits and the pixel policy of <see cref="ImageProcessor"/>. The defaults follow what LLaVA's own
/// loader (Pillow) accepts: <see cref="MaxPixels"/> is Pillow's MAX_IMAGE_PIXELS, and
/// <see cref="PadColor"/> is the CLIP image mean × 255 that LLaVA pads with.
/// </summary>
public sealed record ImageOptions
{
    public ResizeMode Mode { get; init; } = ResizeMode.Keep;

    /// <summary>Target side in pixels for the resizing modes (336 = CLIP ViT-L/14-336).</summary>
    public int Size { get; init; } = 336;

    /// <summary>Largest accepted width × height, checked from the header before any pixel is decoded.</summary>
    public long MaxPixels { get; init; } = 89_478_485;

    /// <summary>Smallest accepted side in pixels.</summary>
    public int MinSide { get; init; } = 1;

    /// <summary>
    /// Largest accepted long side / short side. 20 keeps wide panoramas and tall infographics but
    /// rejects banners and one-pixel strips, where a centre crop would keep under 5% of the image.
    /// </summary>
    public double MaxAspectRatio { get; init; } = 20.0;

    /// <summary>Quality of re-encoded JPEGs (1–100).</summary>
    public int JpegQuality { get; init; } = 95;

    /// <summary>Colour that transparent pixels are composited on.</summary>
    public (byte R, byte G, byte B) Background { get; init; } = (255, 255, 255);

    /// <summary>Fill colour of <see cref="ResizeMode.PadSquare"/>: int(CLIP mean × 255), as LLaVA's expand2square.</summary>
    public (byte R, byte G, byte B) PadColor { get; init; } = (122, 116, 104);

    /// <summary>Largest accepted encoded file, in bytes (checked before anything is parsed).</summary>
    public long MaxEncodedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Memory all threads may spend decoding at once, estimated at 8 bytes per header pixel (RGBA
    /// plus the RGB copy); see <see cref="DecodeBudget"/>. Does not change output, so it is not part
    /// of the settings fingerprint.
    /// </summary>
    public long DecodeMemoryBytes { get; init; } = 2L << 30;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a value makes no sense.</summary>
    public void Validate()
    {
        if (Size < 1) throw new ArgumentOutOfRangeException(nameof(Size), Size, "must be at least 1");
        if (MaxPixels < 1) throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "must be at least 1");
        if (MinSide < 1) throw new ArgumentOutOfRangeException(nameof(MinSide), MinSide, "must be at least 1");
        if (!(MaxAspectRatio >= 1.0)) throw new ArgumentOutOfRangeException(nameof(MaxAspectRatio), MaxAspectRatio, "must be at least 1");
        if (JpegQuality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(JpegQuality), JpegQuality, "must be within 1..100");
        if (DecodeMemoryBytes < 1) throw new ArgumentOutOfRangeException(nameof(DecodeMemoryBytes), DecodeMemoryBytes, "must be at least 1");
        if (MaxEncodedBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxEncodedBytes), MaxEncodedBytes, "must be at least 1");
    }
}
