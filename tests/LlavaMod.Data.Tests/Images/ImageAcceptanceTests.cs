using LlavaMod.Core;
using LlavaMod.Data.Images;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Data.Tests.Images;

/// <summary>Unusual but valid inputs that must be accepted, all ending up as 8-bit RGB.</summary>
public class ImageAcceptanceTests
{
    static readonly ImageProcessor Keep = new(new ImageOptions());

    [Fact]
    public void PngNamedJpgIsAcceptedAsPngAndKeptByteForByte()
    {
        byte[] png = TestImages.Gradient(50, 40);
        var result = Keep.Process(png, "photos/cat.jpg");
        Assert.Equal("png", result.OriginalFormat);
        Assert.Equal("png", result.Format);
        Assert.True(result.IsOriginalBytes);
        Assert.Equal(png, result.Bytes);
        Assert.Equal((50, 40), (result.Width, result.Height));
        Assert.Equal(Hashing.Sha256Hex(png), result.OriginalSha256);
        Assert.Equal(64, result.OriginalSha256.Length);
    }

    [Fact]
    public void PlainJpegIsKeptByteForByte()
    {
        byte[] jpeg = TestImages.Jpeg(TestImages.Make(30, 20, (x, y) => new Rgb24(200, 100, (byte)x)));
        var result = Keep.Process(jpeg, "a.jpeg");
        Assert.Same(jpeg, result.Bytes);
        Assert.Equal(("jpeg", "jpeg"), (result.Format, result.OriginalFormat));
    }

    [Fact]
    public void CmykJpegBecomesRgb()
    {
        // Inks: cyan, red (M+Y), black, none.
        byte[] cmyk = CmykJpegWriter.Write((255, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0));
        var result = Keep.Process(cmyk, "print.jpg");
        Assert.False(result.IsOriginalBytes);
        Assert.Equal(("jpeg", "jpeg"), (result.Format, result.OriginalFormat));
        Assert.Equal((32, 8), (result.Width, result.Height));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((0, 255, 255), rgb[4, 4], 12, "cyan block");
        TestImages.AssertNear((255, 0, 0), rgb[12, 4], 12, "red block");
        TestImages.AssertNear((0, 0, 0), rgb[20, 4], 12, "black block");
        TestImages.AssertNear((255, 255, 255), rgb[28, 4], 12, "blank block");
    }

    [Fact]
    public void JpegWithRestartMarkersIsCompleteAndItsCutIsTruncated()
    {
        byte[] jpeg = CmykJpegWriter.Write(true, (255, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0));
        Assert.Contains((byte)0xD2, jpeg[^12..]);   // RST2 between the third and fourth block
        using (var rgb = TestImages.Decode(Keep.Process(jpeg, "rst.jpg").Bytes))
        {
            TestImages.AssertNear((255, 0, 0), rgb[12, 4], 12, "red block after RST0");
            TestImages.AssertNear((255, 255, 255), rgb[28, 4], 12, "blank block after RST2");
        }
        var e = Assert.Throws<RowRejectedException>(() => Keep.Process(jpeg[..^6], "rst-cut.jpg"));
        Assert.Equal(ImageRejectReasons.Truncated, e.ReasonCode);
    }

    [Fact]
    public void SixteenBitPngBecomesEightBitRgb()
    {
        byte[] png16 = TestImages.Png(TestImages.Make(20, 10, (x, y) => new Rgb48(0xFFFF, 0x8080, (ushort)(x < 10 ? 0 : 0x4040))),
            new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb });
        Assert.Equal((16, 2), PngBytes.ReadIhdrDepthAndType(png16));
        var result = Keep.Process(png16, "deep.png");
        Assert.Equal("png", result.Format);
        Assert.Equal((8, 2), PngBytes.ReadIhdrDepthAndType(result.Bytes));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((255, 128, 0), rgb[2, 2], 0, "left");
        TestImages.AssertNear((255, 128, 64), rgb[15, 2], 0, "right");
    }

    [Fact]
    public void PalettePngWithTransparencyIsCompositedOnBackground()
    {
        var image = TestImages.Make(16, 8, (x, y) => x < 8 ? new Rgba32(0, 0, 255, 255) : new Rgba32(0, 0, 0, 0));
        byte[] palette = TestImages.Png(image, new PngEncoder { ColorType = PngColorType.Palette, BitDepth = PngBitDepth.Bit8 });
        Assert.Equal((8, 3), PngBytes.ReadIhdrDepthAndType(palette));
        var result = new ImageProcessor(new ImageOptions { Background = (10, 200, 30) }).Process(palette, "pal.png");
        Assert.Equal((8, 2), PngBytes.ReadIhdrDepthAndType(result.Bytes));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((0, 0, 255), rgb[2, 2], 0, "opaque blue");
        TestImages.AssertNear((10, 200, 30), rgb[12, 2], 0, "transparent → background");
    }

    [Fact]
    public void OpaquePalettePngIsKeptAndDecodesToItsColours()
    {
        byte[] palette = TestImages.Png(TestImages.Make(16, 8, (x, y) => x < 8 ? new Rgb24(255, 0, 0) : new Rgb24(0, 255, 0)),
            new PngEncoder { ColorType = PngColorType.Palette });
        var result = Keep.Process(palette, "pal.png");
        Assert.True(result.IsOriginalBytes);
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((0, 255, 0), rgb[12, 4], 0, "green half");
    }

    [Fact]
    public void HalfTransparentPixelsBlendWithTheBackground()
    {
        byte[] rgba = TestImages.Png(TestImages.Make(4, 4, (x, y) => new Rgba32(255, 0, 0, 128)));
        var result = Keep.Process(rgba, "alpha.png");
        using var rgb = TestImages.Decode(result.Bytes);
        // Source-over on white: 255·a + 255·(1 − a) = 255 for red; 255·(1 − 128/255) = 127 for green and blue.
        TestImages.AssertNear((255, 127, 127), rgb[1, 1], 1, "blended");
    }

    [Fact]
    public void AnimatedGifGivesItsFirstFrame()
    {
        using var gif = TestImages.Make(12, 10, (x, y) => new Rgba32(255, 0, 0));
        using (var second = TestImages.Make(12, 10, (x, y) => new Rgba32(0, 0, 255)))
            gif.Frames.AddFrame(second.Frames.RootFrame);
        using var ms = new MemoryStream();
        gif.Save(ms, new GifEncoder());
        var result = Keep.Process(ms.ToArray(), "anim.gif");
        Assert.Equal(("png", "gif"), (result.Format, result.OriginalFormat));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((255, 0, 0), rgb[5, 5], 0, "first frame");
    }

    [Fact]
    public void ExifOrientationSixIsAppliedToPixelsAndSize()
    {
        // Stored 64x32: red 16x16 square at the stored top-left, blue elsewhere. Orientation 6 means
        // "rotate 90° clockwise to display", which moves the stored top-left to the displayed top-right.
        var stored = TestImages.Make(64, 32, (x, y) => x < 16 && y < 16 ? new Rgb24(255, 0, 0) : new Rgb24(0, 0, 255));
        stored.Metadata.ExifProfile = new ExifProfile();
        stored.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
        byte[] jpeg = TestImages.Jpeg(stored);

        var result = Keep.Process(jpeg, "phone.jpg");
        Assert.False(result.IsOriginalBytes);
        Assert.Equal((32, 64), (result.OriginalWidth, result.OriginalHeight));
        Assert.Equal((32, 64), (result.Width, result.Height));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((255, 0, 0), rgb[27, 4], 40, "displayed top-right");
        TestImages.AssertNear((0, 0, 255), rgb[4, 4], 40, "displayed top-left");
        TestImages.AssertNear((0, 0, 255), rgb[27, 59], 40, "displayed bottom-right");
        using var reread = Image.Load(result.Bytes);
        Assert.Null(reread.Metadata.ExifProfile);   // no orientation left to apply twice
    }

    [Theory]
    [InlineData("bmp", "png")]
    [InlineData("webp-lossless", "png")]
    [InlineData("webp-lossy", "jpeg")]
    public void OtherFormatsAreReencodedLosslessOnlyWhenTheSourceWas(string source, string stored)
    {
        using var image = TestImages.Make(24, 16, (x, y) => new Rgb24(30, (byte)(x * 10), 200));
        using var ms = new MemoryStream();
        SixLabors.ImageSharp.Formats.IImageEncoder encoder = source switch
        {
            "bmp" => new SixLabors.ImageSharp.Formats.Bmp.BmpEncoder(),
            "webp-lossless" => new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { FileFormat = SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossless },
            _ => new SixLabors.ImageSharp.Formats.Webp.WebpEncoder { FileFormat = SixLabors.ImageSharp.Formats.Webp.WebpFileFormatType.Lossy, Quality = 90 },
        };
        image.Save(ms, encoder);
        var result = Keep.Process(ms.ToArray(), "img.dat");
        Assert.Equal((stored, source.Split('-')[0]), (result.Format, result.OriginalFormat));
        Assert.Equal((24, 16), (result.Width, result.Height));
        using var rgb = TestImages.Decode(result.Bytes);
        TestImages.AssertNear((30, 100, 200), rgb[10, 8], source == "webp-lossy" ? 16 : 0, source);
    }

    [PillowFact]
    public void PillowJpegVariantsAreAccepted()
    {
        // Progressive (several scans with tables between them), optimised Huffman tables, and bytes
        // appended after the end-of-image marker: all complete, none truncated.
        byte[] Make(string saveArgs, string append = "") => PillowReference.Produce($"""
            img = Image.new('RGB', (64, 40))
            img.putdata([(x * 4, y * 6, (x * y) % 256) for y in range(40) for x in range(64)])
            img.save(out, 'JPEG', quality=90{saveArgs})
            {append}
            """);
        foreach (var (name, jpeg) in new[]
        {
            ("progressive", Make(", progressive=True")),
            ("optimised", Make(", optimize=True")),
            ("trailing data", Make("", "out.write(b'MOTION-PHOTO-TRAILER' * 10)")),
        })
        {
            var result = Keep.Process(jpeg, name + ".jpg");
            Assert.True(result.IsOriginalBytes, name);
            Assert.Equal((64, 40), (result.Width, result.Height));
        }
        byte[] progressive = Make(", progressive=True");
        var e = Assert.Throws<RowRejectedException>(() => Keep.Process(progressive[..(progressive.Length * 2 / 3)], "cut.jpg"));
        Assert.Equal(ImageRejectReasons.Truncated, e.ReasonCode);
    }

    [Fact]
    public void SameInputGivesSameBytesAcrossProcessors()
    {
        byte[] jpeg = TestImages.Jpeg(TestImages.Make(300, 200, (x, y) => new Rgb24((byte)x, (byte)y, (byte)(x ^ y))));
        foreach (var mode in Enum.GetValues<Data.Images.ResizeMode>())
        {
            var a = new ImageProcessor(new ImageOptions { Mode = mode, Size = 96 }).Process(jpeg, "x.jpg");
            var b = new ImageProcessor(new ImageOptions { Mode = mode, Size = 96 }).Process(jpeg, "x.jpg");
            Assert.Equal(a.Bytes, b.Bytes);
        }
    }

    [Fact]
    public void FingerprintChangesWithEverySettingAndOnlyThen()
    {
        var baseline = new ImageOptions();
        string fp = new ImageProcessor(baseline).SettingsFingerprint;
        Assert.Equal(fp, new ImageProcessor(new ImageOptions()).SettingsFingerprint);
        ImageOptions[] changed =
        [
            baseline with { Mode = Data.Images.ResizeMode.PadSquare }, baseline with { Size = 224 },
            baseline with { MaxPixels = 1000 }, baseline with { MinSide = 2 }, baseline with { MaxAspectRatio = 3 },
            baseline with { JpegQuality = 90 }, baseline with { Background = (0, 0, 0) },
            baseline with { PadColor = (0, 0, 0) }, baseline with { MaxEncodedBytes = 1000 },
        ];
        Assert.Equal(changed.Length + 1, changed.Select(o => new ImageProcessor(o).SettingsFingerprint).Append(fp).Distinct().Count());
    }
}
