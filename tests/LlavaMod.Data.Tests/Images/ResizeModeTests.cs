using LlavaMod.Data.Images;
using SixLabors.ImageSharp.PixelFormats;
using ResizeMode = LlavaMod.Data.Images.ResizeMode;

namespace LlavaMod.Data.Tests.Images;

/// <summary>Geometry and content of each resize mode.</summary>
public class ResizeModeTests
{
    static ProcessedImage Run(ResizeMode mode, int size, byte[] input) =>
        new ImageProcessor(new ImageOptions { Mode = mode, Size = size }).Process(input, "in.png");

    /// <summary>Three vertical bands: green, red, blue.</summary>
    static byte[] Bands(int width, int height) => TestImages.Png(TestImages.Make(width, height, (x, y) =>
        x < width / 3 ? new Rgb24(0, 255, 0) : x < 2 * width / 3 ? new Rgb24(255, 0, 0) : new Rgb24(0, 0, 255)));

    [Fact]
    public void ShortestCropKeepsTheCentreSquare()
    {
        var result = Run(ResizeMode.ShortestCrop, 30, Bands(300, 100));
        Assert.Equal((30, 30, "jpeg"), (result.Width, result.Height, result.Format));
        Assert.Equal((300, 100), (result.OriginalWidth, result.OriginalHeight));
        using var rgb = TestImages.Decode(result.Bytes);
        // Only the red middle band survives the crop (the band edges sit exactly at the crop edges).
        TestImages.AssertNear((255, 0, 0), rgb[15, 15], 8, "centre");
        TestImages.AssertNear((255, 0, 0), rgb[3, 15], 40, "left edge");
        TestImages.AssertNear((255, 0, 0), rgb[26, 15], 40, "right edge");
    }

    [Theory]
    [InlineData(640, 480, 336, 448, 336)]
    [InlineData(480, 640, 336, 336, 448)]
    [InlineData(1000, 333, 336, 1009, 336)]   // CLIP floors: int(336 * 1000 / 333) = 1009
    [InlineData(100, 100, 336, 336, 336)]
    public void ShortestSideSizeFollowsClip(int w, int h, int size, int ew, int eh) =>
        Assert.Equal((ew, eh), PixelPipeline.ShortestSideSize(w, h, size));

    [Fact]
    public void PadSquareCentresOnThePadColour()
    {
        byte[] red = TestImages.Png(TestImages.Make(200, 100, (x, y) => new Rgb24(255, 0, 0)));
        var result = Run(ResizeMode.PadSquare, 40, red);
        Assert.Equal((40, 40), (result.Width, result.Height));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((122, 116, 104), rgb[20, 2], 6, "top pad");
        TestImages.AssertNear((255, 0, 0), rgb[20, 20], 6, "image centre");
        TestImages.AssertNear((122, 116, 104), rgb[20, 37], 6, "bottom pad");
    }

    [Fact]
    public void KeepRatioLargestScalesDownOnly()
    {
        var down = Run(ResizeMode.KeepRatioLargest, 336, TestImages.Gradient(1000, 500));
        Assert.Equal((336, 168), (down.Width, down.Height));
        var tall = Run(ResizeMode.KeepRatioLargest, 100, TestImages.Gradient(30, 301));
        Assert.Equal((10, 100), (tall.Width, tall.Height));   // 30 × 100/301 = 9.97 → 10
        var small = Run(ResizeMode.KeepRatioLargest, 336, TestImages.Gradient(100, 50));
        Assert.Equal((100, 50), (small.Width, small.Height));
    }

    [Fact]
    public void ResizingModesEncodeJpegAtTheConfiguredQuality()
    {
        var q95 = Run(ResizeMode.ShortestCrop, 64, TestImages.Gradient(128, 96));
        var q50 = new ImageProcessor(new ImageOptions { Mode = ResizeMode.ShortestCrop, Size = 64, JpegQuality = 50 })
            .Process(TestImages.Gradient(128, 96), "in.png");
        Assert.Equal(0xFF, q95.Bytes[0]);
        Assert.Equal(0xD8, q95.Bytes[1]);
        Assert.True(q50.Bytes.Length < q95.Bytes.Length, $"q50 {q50.Bytes.Length} bytes vs q95 {q95.Bytes.Length}");
    }

    /// <summary>The pixels before JPEG encoding (4:2:0 chroma subsampling alone moves sharp colour edges by several levels).</summary>
    static SixLabors.ImageSharp.Image<Rgb24> Pipeline(ResizeMode mode, int size, byte[] input) =>
        PixelPipeline.ApplyMode(TestImages.Decode(input), new ImageOptions { Mode = mode, Size = size });

    [PillowFact]
    public void ShortestCropMatchesPillowBicubicAndCentreCrop()
    {
        byte[] input = TestImages.Gradient(160, 120);
        using var ours = Pipeline(ResizeMode.ShortestCrop, 48, input);
        // The CLIP processor in Pillow terms: resize shortest side to 48 (bicubic), crop at floor((w − 48) / 2).
        byte[] reference = PillowReference.Rgb(input, """
            w, h = img.size
            img = img.resize((int(48 * w / h), 48), Image.BICUBIC)
            left = (img.width - 48) // 2
            img = img.crop((left, 0, left + 48, 48))
            """);
        Assert.Equal(48 * 48 * 3, reference.Length);
        double meanError = PillowReference.MeanAbsoluteError(ours, reference);
        Assert.True(meanError < 0.5, $"mean absolute error vs Pillow {meanError:0.00}");
    }

    [PillowFact]
    public void PadSquareMatchesLlavaExpandToSquare()
    {
        byte[] input = TestImages.Gradient(90, 60);
        using var ours = Pipeline(ResizeMode.PadSquare, 45, input);
        byte[] reference = PillowReference.Rgb(input, """
            w, h = img.size
            square = Image.new('RGB', (max(w, h), max(w, h)), (122, 116, 104))
            square.paste(img, (0, (w - h) // 2) if w > h else ((h - w) // 2, 0))
            img = square.resize((45, 45), Image.BICUBIC)
            """);
        double meanError = PillowReference.MeanAbsoluteError(ours, reference);
        Assert.True(meanError < 0.5, $"mean absolute error vs Pillow {meanError:0.00}");
    }
}
