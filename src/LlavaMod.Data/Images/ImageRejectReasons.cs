namespace LlavaMod.Data.Images;

/// <summary>Reason codes of the <see cref="LlavaMod.Core.RowRejectedException"/>s that <see cref="ImageProcessor"/> throws.</summary>
public static class ImageRejectReasons
{
    /// <summary>Zero bytes.</summary>
    public const string Empty = "image_empty";
    /// <summary>The encoded file exceeds <see cref="ImageOptions.MaxEncodedBytes"/>.</summary>
    public const string FileTooLarge = "image_file_too_large";
    /// <summary>The content is not one of the accepted formats (jpeg, png, gif, webp, bmp), or not an image at all.</summary>
    public const string FormatUnsupported = "image_format_unsupported";
    /// <summary>The header or pixel data cannot be decoded.</summary>
    public const string Unreadable = "image_unreadable";
    /// <summary>The data stops before the format's end marker (JPEG EOI, PNG IEND, GIF trailer, WebP RIFF size).</summary>
    public const string Truncated = "image_truncated";
    /// <summary>Width × height (from the header) exceeds <see cref="ImageOptions.MaxPixels"/>, or decoding hit the memory cap.</summary>
    public const string TooLarge = "image_too_large";
    /// <summary>Text or colour-profile metadata (PNG zTXt/iTXt/iCCP) inflates beyond the limits of <see cref="EncodedImageStructure"/>.</summary>
    public const string MetadataTooLarge = "image_metadata_too_large";
    /// <summary>A side is below <see cref="ImageOptions.MinSide"/>.</summary>
    public const string TooSmall = "image_too_small";
    /// <summary>Long side / short side exceeds <see cref="ImageOptions.MaxAspectRatio"/>.</summary>
    public const string AspectRatio = "image_aspect_ratio";
    /// <summary>An animated WebP (the pinned decoder cannot read its frames). Animated GIFs are accepted: first frame.</summary>
    public const string Animated = "image_animated";
}
