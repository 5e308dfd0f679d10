using BenchmarkDotNet.Attributes;
using LlavaMod.Data.Images;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using ResizeMode = LlavaMod.Data.Images.ResizeMode;

namespace LlavaMod.Benchmarks.Images;

/// <summary>
/// The ETL's image step on one thread: decode → RGB → shortest side 336 (bicubic) → centre crop →
/// JPEG quality 95. "Processor" is <see cref="ImageProcessor"/> with all its checks (header limits,
/// truncation walk, SHA-256 of the input); "ImageSharpOnly" is the bare library pipeline, to show what
/// the checks cost. Peer: peers/pillow_resize.py on the same files (/usr/bin/python3).
/// Run: dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*ImagePipeline*'
/// </summary>
[MemoryDiagnoser]
public class ImagePipelineBenchmarks
{
    byte[] jpeg = [];
    ImageProcessor processor = null!;
    Configuration singleThread = null!;

    [Params("640x480", "1024x768")]
    public string Size { get; set; } = "640x480";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Size.Split('x');
        foreach (var (w, h) in BenchmarkJpegs.Sizes) BenchmarkJpegs.Ensure(w, h);
        jpeg = BenchmarkJpegs.Ensure(int.Parse(parts[0]), int.Parse(parts[1]));
        processor = new ImageProcessor(new ImageOptions { Mode = ResizeMode.ShortestCrop, Size = 336 });
        singleThread = Configuration.Default.Clone();
        singleThread.MaxDegreeOfParallelism = 1;
    }

    [Benchmark(Baseline = true)]
    public int Processor() => processor.Process(jpeg, "bench.jpg").Bytes.Length;

    [Benchmark]
    public int ImageSharpOnly()
    {
        using var image = Image.Load<Rgb24>(singleThread, jpeg);
        var (w, h) = PixelPipeline.ShortestSideSize(image.Width, image.Height, 336);
        image.Mutate(c => c.Resize(w, h, KnownResamplers.Bicubic).Crop(new Rectangle((w - 336) / 2, (h - 336) / 2, 336, 336)));
        using var stream = new MemoryStream();
        image.Save(stream, new JpegEncoder { Quality = 95, ColorType = JpegColorType.YCbCrRatio420 });
        return (int)stream.Length;
    }
}
