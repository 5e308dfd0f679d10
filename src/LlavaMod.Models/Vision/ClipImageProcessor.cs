using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Turns decoded RGB pixels into CLIP pixel values: scale to [0, 1], resize to image_size when
/// needed (bicubic, torch interpolate; the ETL normally delivers images already at that size),
/// normalise with image_mean/std. Output [3, image_size, image_size] float32.
/// </summary>
public static class ClipImageProcessor
{
    /// <summary>Stored image bytes (an encoded JPEG/PNG) → pixel values (3, S, S); an image that cannot be decoded is an error naming <paramref name="key"/>.</summary>
    public static Tensor FromEncoded(byte[] bytes, string key, ClipVisionConfig vision)
    {
        try
        {
            using var image = Image.Load<Rgb24>(bytes);
            var rgb = new byte[image.Width * image.Height * 3];
            image.CopyPixelDataTo(rgb);
            return ToPixelValues(rgb, image.Width, image.Height, vision);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException)
        {
            throw new LlavaModException($"row {key}: the stored image cannot be decoded ({e.Message}); run 'llavamod verify' on the dataset", e);
        }
    }

    /// <param name="rgb">interleaved RGB bytes, row-major, <paramref name="width"/>·<paramref name="height"/>·3 long</param>
    public static Tensor ToPixelValues(ReadOnlySpan<byte> rgb, int width, int height, ClipVisionConfig config)
    {
        if (width <= 0 || height <= 0 || rgb.Length != width * height * 3)
            throw new LlavaModException($"image buffer holds {rgb.Length} bytes, expected {width}×{height}×3 = {(long)width * height * 3} (RGB)");
        using var scope = torch.NewDisposeScope();
        var image = torch.tensor(rgb.ToArray(), dtype: ScalarType.Byte).view(height, width, 3)
            .permute(2, 0, 1).to(ScalarType.Float32).div(LongLivedScalars.ByteMax); // [3, H, W]
        if (width != config.ImageSize || height != config.ImageSize)
        {
            image = nn.functional.interpolate(image.unsqueeze(0), size: [config.ImageSize, config.ImageSize],
                mode: InterpolationMode.Bicubic, align_corners: false).squeeze(0).clamp(LongLivedScalars.DoubleZero, LongLivedScalars.DoubleOne);
        }
        var mean = torch.tensor(config.ImageMean).view(3, 1, 1);
        var std = torch.tensor(config.ImageStd).view(3, 1, 1);
        return ((image - mean) / std).MoveToOuterDisposeScope();
    }
}
