using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Data.Tests.Images;

/// <summary>Small encoded inputs built with ImageSharp's encoders.</summary>
static class TestImages
{
    /// <summary>An image whose colour at (x, y) is <paramref name="color"/>(x, y).</summary>
    public static Image<TPixel> Make<TPixel>(int width, int height, Func<int, int, TPixel> color) where TPixel : unmanaged, IPixel<TPixel>
    {
        var image = new Image<TPixel>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = color(x, y);
        return image;
    }

    public static byte[] Gradient(int width, int height) =>
        Png(Make(width, height, (x, y) => new Rgb24((byte)(x * 255 / Math.Max(1, width - 1)), (byte)(y * 255 / Math.Max(1, height - 1)), (byte)((x + y) % 256))));

    public static byte[] Png<TPixel>(Image<TPixel> image, PngEncoder? encoder = null) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var ms = new MemoryStream();
        image.Save(ms, encoder ?? new PngEncoder());
        image.Dispose();
        return ms.ToArray();
    }

    public static byte[] Jpeg<TPixel>(Image<TPixel> image, int quality = 95) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var ms = new MemoryStream();
        image.Save(ms, new JpegEncoder { Quality = quality, ColorType = JpegColorType.YCbCrRatio444 });
        image.Dispose();
        return ms.ToArray();
    }

    public static Image<Rgb24> Decode(byte[] bytes) => Image.Load<Rgb24>(bytes);

    /// <summary>True when every channel of <paramref name="actual"/> is within <paramref name="tolerance"/> of <paramref name="expected"/>.</summary>
    public static bool Near(Rgb24 actual, (int R, int G, int B) expected, int tolerance) =>
        Math.Abs(actual.R - expected.R) <= tolerance && Math.Abs(actual.G - expected.G) <= tolerance && Math.Abs(actual.B - expected.B) <= tolerance;

    public static void AssertNear((int R, int G, int B) expected, Rgb24 actual, int tolerance, string where) =>
        Assert.True(Near(actual, expected, tolerance), $"{where}: expected about {expected}, got ({actual.R}, {actual.G}, {actual.B})");
}
