using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace LlavaMod.Data.Images;

/// <summary>
/// The pixel steps of <see cref="ImageProcessor"/>: orientation, alpha compositing, and the
/// geometry of each <see cref="ResizeMode"/> (all resizing bicubic, as CLIP's processor). The
/// rounding follows the Python references: CLIP's processor floors the long side and centre-crops at
/// floor((side − Size) / 2); LLaVA's expand2square pastes at floor((side − short) / 2).
/// </summary>
public static class PixelPipeline
{
    /// <summary>True when any pixel is not fully opaque.</summary>
    public static bool HasTransparency(Image<Rgba32> image)
    {
        bool found = false;
        image.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < accessor.Height && !found; y++)
                foreach (var p in accessor.GetRowSpan(y))
                    if (p.A != 255) { found = true; break; }
        });
        return found;
    }

    /// <summary>
    /// Applies the EXIF orientation, composites transparency on <paramref name="background"/>, and
    /// returns an RGB image without metadata profiles (the orientation is now in the pixels): the
    /// same instance when <paramref name="image"/> already is RGB, else a new one.
    /// </summary>
    public static Image<Rgb24> ToOrientedRgb(Image image, (byte R, byte G, byte B) background)
    {
        image.Mutate(c => c.AutoOrient());
        if (image is Image<Rgba32> rgba && HasTransparency(rgba))
            rgba.Mutate(c => c.BackgroundColor(Color.FromRgb(background.R, background.G, background.B)));
        var rgb = image as Image<Rgb24> ?? image.CloneAs<Rgb24>();
        StripMetadata(rgb);
        return rgb;
    }

    /// <summary>Returns the image <paramref name="options"/>' mode asks for: <paramref name="image"/> itself (mutated) or a new one.</summary>
    public static Image<Rgb24> ApplyMode(Image<Rgb24> image, ImageOptions options)
    {
        int size = options.Size;
        switch (options.Mode)
        {
            case ResizeMode.Keep:
                return image;
            case ResizeMode.ShortestCrop:
            {
                var (w, h) = ShortestSideSize(image.Width, image.Height, size);
                if (w != image.Width || h != image.Height) image.Mutate(c => c.Resize(w, h, KnownResamplers.Bicubic));
                var crop = new Rectangle((w - size) / 2, (h - size) / 2, size, size);
                if (crop.Size != image.Size()) image.Mutate(c => c.Crop(crop));
                return image;
            }
            case ResizeMode.PadSquare:
            {
                var square = PadToSquare(image, options.PadColor);
                if (square.Width != size) square.Mutate(c => c.Resize(size, size, KnownResamplers.Bicubic));
                return square;
            }
            case ResizeMode.KeepRatioLargest:
            {
                var (w, h) = LargestSideSize(image.Width, image.Height, size);
                if (w != image.Width || h != image.Height) image.Mutate(c => c.Resize(w, h, KnownResamplers.Bicubic));
                return image;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "unknown resize mode");
        }
    }

    /// <summary>Size after scaling the shortest side to <paramref name="size"/> (CLIP: the long side is floored).</summary>
    public static (int Width, int Height) ShortestSideSize(int width, int height, int size) =>
        width <= height
            ? (size, (int)((long)size * height / width))
            : ((int)((long)size * width / height), size);

    /// <summary>Size after scaling the largest side down to <paramref name="size"/> (rounded, at least 1); smaller images are unchanged.</summary>
    public static (int Width, int Height) LargestSideSize(int width, int height, int size)
    {
        int longSide = Math.Max(width, height);
        if (longSide <= size) return (width, height);
        double scale = (double)size / longSide;
        return width >= height
            ? (size, Math.Max(1, (int)Math.Round(height * scale, MidpointRounding.AwayFromZero)))
            : (Math.Max(1, (int)Math.Round(width * scale, MidpointRounding.AwayFromZero)), size);
    }

    /// <summary>LLaVA's expand2square: the image centred on a square canvas of <paramref name="padColor"/>.</summary>
    static Image<Rgb24> PadToSquare(Image<Rgb24> image, (byte R, byte G, byte B) padColor)
    {
        if (image.Width == image.Height) return image;
        int side = Math.Max(image.Width, image.Height);
        var canvas = new Image<Rgb24>(image.GetConfiguration(), side, side, new Rgb24(padColor.R, padColor.G, padColor.B));
        var at = new Point((side - image.Width) / 2, (side - image.Height) / 2);
        canvas.Mutate(c => c.DrawImage(image, at, 1f));
        return canvas;
    }

    static void StripMetadata(Image<Rgb24> image)
    {
        var m = image.Metadata;
        m.ExifProfile = null;
        m.IccProfile = null;
        m.IptcProfile = null;
        m.XmpProfile = null;
        var png = m.GetPngMetadata();
        png.TextData.Clear();
        png.Gamma = 0;
    }
}
