using LlavaMod.Core;
using LlavaMod.Data.Images;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Data.Tests.Images;

/// <summary>Inputs that must be refused, each with its precise reason code and the file named in the message.</summary>
public class ImageRejectionTests
{
    static readonly ImageProcessor Processor = new(new ImageOptions());

    static RowRejectedException Rejected(byte[] bytes, ImageProcessor? processor = null, string name = "in/bad.bin")
    {
        var e = Assert.Throws<RowRejectedException>(() => (processor ?? Processor).Process(bytes, name));
        Assert.StartsWith(name + ": ", e.Message);
        return e;
    }

    [Fact]
    public void ZeroByteFileIsEmpty() =>
        Assert.Equal(ImageRejectReasons.Empty, Rejected([]).ReasonCode);

    [Fact]
    public void NonImageBytesAreUnsupported() =>
        Assert.Equal(ImageRejectReasons.FormatUnsupported,
            Rejected("<html><body>404 Not Found</body></html>\n"u8.ToArray()).ReasonCode);

    [Fact]
    public void TiffIsNotAnAcceptedFormat() =>
        Assert.Equal(ImageRejectReasons.FormatUnsupported, Rejected([(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 0, 0]).ReasonCode);

    [Theory]
    [InlineData(0.5)]   // stops inside the scan data: ImageSharp alone would decode it with black rows
    [InlineData(0.99)]  // only the end-of-image marker and a few bytes missing
    public void TruncatedJpegIsTruncated(double keep)
    {
        byte[] jpeg = TestImages.Jpeg(TestImages.Make(64, 48, (x, y) => new Rgb24((byte)(x * 4), (byte)(y * 5), 90)));
        byte[] cut = jpeg[..(int)(jpeg.Length * keep)];
        Assert.Equal(ImageRejectReasons.Truncated, Rejected(cut).ReasonCode);
    }

    [Fact]
    public void JpegCutInsideItsHeaderIsTruncated()
    {
        byte[] jpeg = TestImages.Jpeg(TestImages.Make(64, 48, (x, y) => new Rgb24(10, 20, 30)));
        Assert.Equal(ImageRejectReasons.Truncated, Rejected(jpeg[..200]).ReasonCode);
    }

    [Fact]
    public void PngWithoutIendIsTruncated()
    {
        byte[] png = TestImages.Gradient(40, 30);
        Assert.Equal(ImageRejectReasons.Truncated, Rejected(png[..^12]).ReasonCode);
    }

    [Fact]
    public void CrcHelperMatchesTheStandardCheckValue() =>
        Assert.Equal(0xCBF43926u, PngBytes.Crc32("123456789"u8));

    [Fact]
    public void HugeDeclaredPngIsRefusedByHeaderWithoutDecoding()
    {
        byte[] png = PngBytes.WithDeclaredSize(30_000, 30_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Rejected(png);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ImageRejectReasons.TooLarge, e.ReasonCode);
        Assert.Contains("30000x30000 = 900000000 pixels", e.Message);   // the header path, not an allocator failure
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void MaxPixelsIsInclusive()
    {
        var processor = new ImageProcessor(new ImageOptions { MaxPixels = 20 * 10 });
        Assert.Equal(20, processor.Process(TestImages.Gradient(20, 10), "ok.png").Width);
        Assert.Equal(ImageRejectReasons.TooLarge, Rejected(TestImages.Gradient(21, 10), processor).ReasonCode);
    }

    [Fact]
    public void SideBelowMinimumIsTooSmall() =>
        Assert.Equal(ImageRejectReasons.TooSmall,
            Rejected(TestImages.Gradient(64, 15), new ImageProcessor(new ImageOptions { MinSide = 16 })).ReasonCode);

    [Fact]
    public void ExtremeAspectRatioIsRefused()
    {
        Assert.Equal(ImageRejectReasons.AspectRatio, Rejected(TestImages.Gradient(210, 10)).ReasonCode);
        Assert.Equal(ImageRejectReasons.AspectRatio, Rejected(TestImages.Gradient(10, 210)).ReasonCode);
        Assert.Equal(200, Processor.Process(TestImages.Gradient(200, 10), "ok.png").Width);   // exactly 20:1 passes
    }

    [Fact]
    public void FileAboveByteLimitIsRefusedBeforeParsing() =>
        Assert.Equal(ImageRejectReasons.FileTooLarge,
            Rejected(TestImages.Gradient(40, 40), new ImageProcessor(new ImageOptions { MaxEncodedBytes = 64 })).ReasonCode);

    [Fact]
    public void AnimatedWebpIsRefused()
    {
        // RIFF container with a VP8X chunk whose flags byte sets the animation bit (0x02).
        byte[] vp8x = [0x02, 0, 0, 0, 9, 0, 0, 9, 0, 0];   // flags, reserved, canvas 10x10 (minus one, 24-bit LE)
        byte[] body = [.. "WEBP"u8.ToArray(), .. "VP8X"u8.ToArray(), 10, 0, 0, 0, .. vp8x];
        byte[] riff = [.. "RIFF"u8.ToArray(), (byte)body.Length, 0, 0, 0, .. body];
        Assert.Equal(ImageRejectReasons.Animated, Rejected(riff).ReasonCode);
    }

    [Fact]
    public void CorruptPngPixelDataIsUnreadable()
    {
        // A complete chunk structure whose IDAT is not a zlib stream.
        byte[] valid = PngBytes.WithDeclaredSize(4, 1);
        byte[] ihdr = valid[8..33];
        byte[] png = [.. PngBytes.Signature, .. ihdr, .. PngBytes.Chunk("IDAT", [1, 2, 3, 4, 5, 6, 7, 8]), .. PngBytes.Chunk("IEND", [])];
        Assert.Equal(ImageRejectReasons.Unreadable, Rejected(png).ReasonCode);
    }
}
