using LlavaMod.Core;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Data.Images;

/// <summary>
/// Validates one encoded image and produces the bytes the ETL stores. Refuses by header first
/// (size, side, aspect ratio: nothing is decoded for an oversized image), then checks the data is
/// complete, decodes the first frame, applies the EXIF orientation, composites transparency on
/// <see cref="ImageOptions.Background"/>, and applies <see cref="ImageOptions.Mode"/>. The format is
/// detected from the content; the file name only appears in messages. Every refusal is a
/// <see cref="RowRejectedException"/> with a code from <see cref="ImageRejectReasons"/>.
/// One instance may be used from several threads (ImageSharp configurations are thread-safe).
/// </summary>
public sealed class ImageProcessor
{
    readonly Configuration configuration;

    public ImageProcessor(ImageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        configuration = ImageSharpSetup.Create(options);
        Budget = new DecodeBudget(options.DecodeMemoryBytes);
        SettingsDescription = DescribeSettings(options);
        SettingsFingerprint = Hashing.Sha256Hex(SettingsDescription);
    }

    public ImageOptions Options { get; }

    /// <summary>Shared by every thread that uses this processor: bounds the images decoded at once.</summary>
    public DecodeBudget Budget { get; }

    /// <summary>Canonical one-line text of every setting that changes the output bytes, including the ImageSharp version.</summary>
    public string SettingsDescription { get; }

    /// <summary>SHA-256 (hex) of <see cref="SettingsDescription"/>: equal fingerprints give equal bytes for equal inputs.</summary>
    public string SettingsFingerprint { get; }

    /// <summary>Validates and converts <paramref name="original"/>; <paramref name="sourceName"/> names it in errors.</summary>
    public ProcessedImage Process(byte[] original, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(original);
        if (original.Length == 0) throw Reject(ImageRejectReasons.Empty, sourceName, "file is empty (0 bytes)");
        if (original.Length > Options.MaxEncodedBytes)
            throw Reject(ImageRejectReasons.FileTooLarge, sourceName, $"file has {original.Length} bytes, above the limit of {Options.MaxEncodedBytes}");

        // Before the header is read: ImageSharp reads (and inflates) PNG text and ICC chunks with it.
        if (EncodedImageStructure.IsPng(original) && EncodedImageStructure.FindOversizedPngMetadata(original) is { } oversized)
            throw Reject(ImageRejectReasons.MetadataTooLarge, sourceName, oversized);
        var header = ReadHeader(original, sourceName);
        string? truncation = EncodedImageStructure.FindTruncation(original, header.Format);
        if (truncation != null) throw Reject(ImageRejectReasons.Truncated, sourceName, truncation);

        using var lease = Budget.Take(DecodeEstimate(header));
        using var image = Decode(original, header, sourceName);
        string sha = Hashing.Sha256Hex(original);
        if (Options.Mode == ResizeMode.Keep && CanStoreUnchanged(image, header))
        {
            CheckDecodedSize(image, header, sourceName);
            return new ProcessedImage(original, header.Format, header.Format, header.Width, header.Height, header.Width, header.Height, sha)
            { IsOriginalBytes = true };
        }

        using var rgb = PixelPipeline.ToOrientedRgb(image, Options.Background);
        CheckDecodedSize(rgb, header, sourceName);

        // Resized images are JPEG; at the original size, lossless sources stay lossless (PNG).
        bool lossless = Options.Mode == ResizeMode.Keep && (header.Format is "png" or "gif" or "bmp" || IsLosslessWebp(image, header));
        var output = PixelPipeline.ApplyMode(rgb, Options);
        try
        {
            byte[] bytes = lossless ? EncodePng(output) : EncodeJpeg(output);
            return new ProcessedImage(bytes, lossless ? "png" : "jpeg", header.Format, header.Width, header.Height, output.Width, output.Height, sha);
        }
        finally
        {
            if (!ReferenceEquals(output, rgb)) output.Dispose();
        }
    }

    /// <summary>Decoding memory of an image from its header: RGBA pixels, the RGB copy and the resized output.</summary>
    static long DecodeEstimate(Header h) => (long)h.Width * h.Height * 8;

    /// <summary>Format, oriented size and EXIF orientation, from the header only.</summary>
    sealed record Header(string Format, int Width, int Height, ushort Orientation);

    Header ReadHeader(byte[] data, string sourceName)
    {
        IImageFormat? format = Image.DetectFormat(configuration, data);
        if (format == null)
            throw Reject(ImageRejectReasons.FormatUnsupported, sourceName, "content is not a jpeg, png, gif, webp or bmp image");
        string name = format.Name.ToLowerInvariant();
        if (name == "webp" && EncodedImageStructure.IsAnimatedWebp(data))
            throw Reject(ImageRejectReasons.Animated, sourceName, "animated WebP is not supported");

        IImageInfo? info;
        try { info = Image.Identify(configuration, data, out _); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unreadable(data, name, sourceName, "header", e);
        }
        if (info == null) throw Reject(ImageRejectReasons.Unreadable, sourceName, $"{name} header cannot be read");

        ushort orientation = info.Metadata.ExifProfile?.GetValue(ExifTag.Orientation)?.Value ?? 1;
        bool swaps = orientation is >= 5 and <= 8;
        var header = new Header(name, swaps ? info.Height : info.Width, swaps ? info.Width : info.Height, orientation);
        CheckGeometry(header, sourceName);
        return header;
    }

    void CheckGeometry(Header h, string sourceName)
    {
        long pixels = (long)h.Width * h.Height;
        if (pixels > Options.MaxPixels)
            throw Reject(ImageRejectReasons.TooLarge, sourceName, $"{h.Width}x{h.Height} = {pixels} pixels, above the limit of {Options.MaxPixels}");
        int shortSide = Math.Min(h.Width, h.Height), longSide = Math.Max(h.Width, h.Height);
        if (shortSide < Options.MinSide)
            throw Reject(ImageRejectReasons.TooSmall, sourceName, $"{h.Width}x{h.Height} has a side below the minimum of {Options.MinSide}");
        double ratio = (double)longSide / shortSide;
        if (ratio > Options.MaxAspectRatio)
            throw Reject(ImageRejectReasons.AspectRatio, sourceName, $"{h.Width}x{h.Height} has aspect ratio {ratio:0.##}, above the limit of {Options.MaxAspectRatio}");
    }

    static void CheckDecodedSize(Image image, Header header, string sourceName)
    {
        if (image.Width != header.Width || image.Height != header.Height)
            throw Reject(ImageRejectReasons.Unreadable, sourceName,
                $"decoded size {image.Width}x{image.Height} differs from the header's {header.Width}x{header.Height}");
    }

    Image Decode(byte[] data, Header header, string sourceName)
    {
        try
        {
            // JPEG has no alpha: decode straight to RGB. Everything else may carry transparency.
            return header.Format == "jpeg"
                ? Image.Load<Rgb24>(configuration, data)
                : Image.Load<Rgba32>(configuration, data);
        }
        catch (InvalidMemoryOperationException e)
        {
            throw new RowRejectedException(ImageRejectReasons.TooLarge,
                $"{sourceName}: decoding needs more memory than the image allocator allows ({e.Message})", e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unreadable(data, header.Format, sourceName, "pixel data", e);
        }
    }

    /// <summary>The original bytes may be stored when they are a plain 8-bit RGB/grey JPEG or PNG, upright and opaque.</summary>
    static bool CanStoreUnchanged(Image image, Header header)
    {
        if (header.Orientation > 1) return false;
        return header.Format switch
        {
            "jpeg" => image.Metadata.GetJpegMetadata().ColorType is null or JpegColorType.Luminance
                or JpegColorType.YCbCrRatio420 or JpegColorType.YCbCrRatio422 or JpegColorType.YCbCrRatio444
                or JpegColorType.YCbCrRatio411 or JpegColorType.YCbCrRatio410,
            "png" => image.Metadata.GetPngMetadata().BitDepth != PngBitDepth.Bit16
                && !(image is Image<Rgba32> rgba && PixelPipeline.HasTransparency(rgba)),
            _ => false,
        };
    }

    static bool IsLosslessWebp(Image image, Header header) =>
        header.Format == "webp" && image.Metadata.GetWebpMetadata().FileFormat == SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossless;

    byte[] EncodeJpeg(Image<Rgb24> image)
    {
        using var stream = new MemoryStream();
        image.Save(stream, new JpegEncoder { Quality = Options.JpegQuality, ColorType = JpegColorType.YCbCrRatio420 });
        return stream.ToArray();
    }

    static byte[] EncodePng(Image<Rgb24> image)
    {
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
        return stream.ToArray();
    }

    static RowRejectedException Unreadable(byte[] data, string format, string sourceName, string part, Exception e)
    {
        // A decoder error on data that stops early is reported as truncation, the more useful reason.
        string? truncation = EncodedImageStructure.FindTruncation(data, format);
        return truncation != null
            ? new RowRejectedException(ImageRejectReasons.Truncated, $"{sourceName}: {truncation}", e)
            : new RowRejectedException(ImageRejectReasons.Unreadable, $"{sourceName}: {format} {part} cannot be decoded: {e.Message}", e);
    }

    static RowRejectedException Reject(string code, string sourceName, string reason) => new(code, $"{sourceName}: {reason}");

    static string DescribeSettings(ImageOptions o) => string.Join(';',
        $"mode={o.Mode.ToCliName()}", $"size={o.Size}", $"max_pixels={o.MaxPixels}", $"min_side={o.MinSide}",
        $"max_aspect_ratio={o.MaxAspectRatio.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}",
        $"jpeg_quality={o.JpegQuality}", "jpeg_subsampling=420",
        $"background={o.Background.R},{o.Background.G},{o.Background.B}",
        $"pad_color={o.PadColor.R},{o.PadColor.G},{o.PadColor.B}",
        $"max_encoded_bytes={o.MaxEncodedBytes}", "resampler=bicubic",
        $"png_metadata_limits={EncodedImageStructure.MaxPngMetadataChunkBytes},{EncodedImageStructure.MaxPngMetadataBytes}",
        $"imagesharp={ImageSharpSetup.LibraryVersion}");
}
