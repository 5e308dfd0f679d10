using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Demo.Corpus;

/// <summary>
/// Draws a <see cref="DemoScene"/> into a 48×48 RGB image by testing each pixel centre against the
/// shape's geometry (no anti-aliasing: every object pixel has exactly its colour). A noisy background
/// adds independent uniform noise to each channel of each background pixel.
/// </summary>
public static class DemoRenderer
{
    public static readonly Rgb24 BackgroundColor = new(100, 100, 100);
    public const int NoiseAmplitude = 45;

    /// <summary>Lossless, deterministic PNG settings for the demo images.</summary>
    public static PngEncoder PngEncoder { get; } = new()
    {
        ColorType = PngColorType.Rgb,
        BitDepth = PngBitDepth.Bit8,
        CompressionLevel = PngCompressionLevel.DefaultCompression,
    };

    public static Image<Rgb24> Render(DemoScene scene)
    {
        const int n = DemoOptions.ImageSize;
        var image = new Image<Rgb24>(n, n);
        var noise = new Random(scene.NoiseSeed);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                image[x, y] = scene.NoisyBackground ? Noisy(noise) : BackgroundColor;
        foreach (var o in scene.Objects)
        {
            var (r, g, b) = DemoVocabulary.Rgb(o.Color);
            var fill = new Rgb24(r, g, b);
            int x0 = o.Col * DemoOptions.CellSize, y0 = o.Row * DemoOptions.CellSize;
            for (int y = y0; y < y0 + DemoOptions.CellSize; y++)
                for (int x = x0; x < x0 + DemoOptions.CellSize; x++)
                    if (Covers(o.Shape, x + 0.5 - o.CenterX, y + 0.5 - o.CenterY, o.Size / 2.0))
                        image[x, y] = fill;
        }
        return image;
    }

    public static byte[] RenderPng(DemoScene scene)
    {
        using var image = Render(scene);
        using var stream = new MemoryStream();
        image.Save(stream, PngEncoder);
        return stream.ToArray();
    }

    static Rgb24 Noisy(Random noise)
    {
        byte Channel(byte c) => (byte)Math.Clamp(c + noise.Next(-NoiseAmplitude, NoiseAmplitude + 1), 0, 255);
        return new Rgb24(Channel(BackgroundColor.R), Channel(BackgroundColor.G), Channel(BackgroundColor.B));
    }

    /// <summary>Whether the point (dx, dy) from the shape's centre (y down) lies in a shape of radius <paramref name="r"/>.</summary>
    public static bool Covers(string shape, double dx, double dy, double r) => shape switch
    {
        "circle" => dx * dx + dy * dy <= r * r,
        "square" => Math.Abs(dx) <= 0.8 * r && Math.Abs(dy) <= 0.8 * r,
        "diamond" => Math.Abs(dx) + Math.Abs(dy) <= r,
        // Apex at (0, −r), base from (−r, 0.8r) to (r, 0.8r).
        "triangle" => dy <= 0.8 * r && Math.Abs(dx) <= (dy + r) / 1.8,
        "cross" => (Math.Abs(dx) <= r / 3 && Math.Abs(dy) <= r) || (Math.Abs(dy) <= r / 3 && Math.Abs(dx) <= r),
        "star" => InStar(dx, dy, r),
        _ => throw new ArgumentException($"unknown demo shape '{shape}'", nameof(shape)),
    };

    /// <summary>Five-pointed star (one point up), inner radius 0.5 r: even-odd test against its ten vertices.</summary>
    static bool InStar(double dx, double dy, double r)
    {
        Span<double> xs = stackalloc double[10], ys = stackalloc double[10];
        for (int k = 0; k < 10; k++)
        {
            double radius = k % 2 == 0 ? r : 0.5 * r;
            double angle = -Math.PI / 2 + k * Math.PI / 5;
            xs[k] = radius * Math.Cos(angle);
            ys[k] = radius * Math.Sin(angle);
        }
        bool inside = false;
        for (int i = 0, j = 9; i < 10; j = i++)
            if ((ys[i] > dy) != (ys[j] > dy) && dx < (xs[j] - xs[i]) * (dy - ys[i]) / (ys[j] - ys[i]) + xs[i])
                inside = !inside;
        return inside;
    }
}
