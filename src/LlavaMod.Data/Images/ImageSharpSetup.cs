using System.Reflection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;

namespace LlavaMod.Data.Images;

/// <summary>
/// The ImageSharp configuration an <see cref="ImageProcessor"/> owns: only the formats the ETL
/// accepts (jpeg, png, gif, webp, bmp; no TGA, whose weak signature matches arbitrary bytes, no
/// TIFF or PBM), one thread per image (the ETL parallelises across images), GIFs decoded to their
/// first frame only, and an allocator whose single-buffer limit is a safety net behind the header
/// check of <see cref="ImageOptions.MaxPixels"/>.
/// </summary>
public static class ImageSharpSetup
{
    /// <summary>Bytes per pixel the allocation limit allows for (an Rgba32 image is 4, the rest is headroom for decoder buffers).</summary>
    const long AllocationBytesPerPixel = 8;

    /// <summary>The pinned ImageSharp version, e.g. "2.1.13" (part of the settings fingerprint: re-encoded bytes depend on it).</summary>
    public static string LibraryVersion { get; } =
        typeof(Image).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(Image).Assembly.GetName().Version?.ToString() ?? "unknown";

    public static Configuration Create(ImageOptions options)
    {
        var configuration = new Configuration(
            new JpegConfigurationModule(),
            new PngConfigurationModule(),
            new GifConfigurationModule(),
            new WebpConfigurationModule(),
            new BmpConfigurationModule())
        {
            MaxDegreeOfParallelism = 1,
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
            {
                MaximumPoolSizeMegabytes = 64,
                AllocationLimitMegabytes = AllocationLimitMegabytes(options.MaxPixels),
            }),
        };
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    /// <summary>Largest single buffer, in MiB, for images up to <paramref name="maxPixels"/> pixels (at least 64).</summary>
    public static int AllocationLimitMegabytes(long maxPixels) =>
        (int)Math.Clamp((maxPixels * AllocationBytesPerPixel + (1 << 20) - 1) >> 20, 64, int.MaxValue);
}
