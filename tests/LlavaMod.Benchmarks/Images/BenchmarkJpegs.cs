using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Benchmarks.Images;

/// <summary>
/// Photo-like test JPEGs (smooth gradients plus deterministic texture, quality 90, 4:2:0), written
/// to one folder so that the Pillow peer script (peers/pillow_resize.py) times the same bytes.
/// The folder is $LLAVAMOD_BENCH_IMAGES or {temp}/llavamod-bench-images.
/// </summary>
public static class BenchmarkJpegs
{
    public static readonly (int Width, int Height)[] Sizes = [(640, 480), (1024, 768)];

    public static string Directory =>
        Environment.GetEnvironmentVariable("LLAVAMOD_BENCH_IMAGES") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "llavamod-bench-images");

    public static string PathFor(int width, int height) => Path.Combine(Directory, $"photo-{width}x{height}.jpg");

    /// <summary>Writes the files (same bytes every time) and returns the path of the requested size.</summary>
    public static byte[] Ensure(int width, int height)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string path = PathFor(width, height);
        byte[] bytes = Encode(width, height);
        if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes)) File.WriteAllBytes(path, bytes);
        return bytes;
    }

    /// <summary>A photo-like JPEG; <paramref name="seed"/> varies the texture (12345 gives the benchmark files).</summary>
    public static byte[] Encode(int width, int height, uint seed = 12345)
    {
        using var image = new Image<Rgb24>(width, height);
        uint state = seed;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                state = state * 1664525 + 1013904223;                 // LCG texture, fixed seed
                int texture = (int)(state >> 27) - 16;
                double u = (double)x / width, v = (double)y / height;
                image[x, y] = new Rgb24(
                    Clamp(255 * u + texture),
                    Clamp(255 * v + 40 * Math.Sin(12 * u) + texture),
                    Clamp(128 + 100 * Math.Sin(9 * (u + v)) + texture));
            }
        using var stream = new MemoryStream();
        image.Save(stream, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio420 });
        return stream.ToArray();
    }

    static byte Clamp(double value) => (byte)Math.Clamp((int)Math.Round(value), 0, 255);
}
