using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

[Collection(ReferenceCollection.Name)]
public class ClipReferenceTests(ReferenceFixture reference)
{
    [Fact]
    public void Features_from_the_second_to_last_layer_without_cls_match_pytorch()
    {
        using var tower = Checkpoint.LoadVisionTower(reference.Dir("clip"));
        using var pixels = reference.Get("clip.pixel_values");
        using var expected = reference.Get("clip.features");
        using var _ = torch.no_grad();
        using var features = tower.Features(pixels);
        Assert.Equal(new long[] { 2, 16, 24 }, features.shape);
        TensorAssert.Close(expected, features, 1e-4);
    }

    [Fact]
    public void Config_comes_from_the_vision_config_of_a_full_clip_folder_and_the_processor_file()
    {
        var config = ClipVisionConfig.Load(reference.Dir("clip"));
        Assert.Equal(24, config.HiddenSize);
        Assert.Equal(16, config.NumPatches);
        Assert.Equal(new[] { 0.5f, 0.4f, 0.3f }, config.ImageMean);
    }

    [Fact]
    public void Processor_normalises_rgb_bytes_like_the_reference()
    {
        var config = ClipVisionConfig.Load(reference.Dir("clip"));
        using var rgb = reference.Get("clip.rgb");
        byte[] bytes = rgb.data<long>().ToArray().Select(v => (byte)v).ToArray();
        using var expected = reference.Get("clip.processed");
        using var pixels = ClipImageProcessor.ToPixelValues(bytes, 32, 32, config);
        TensorAssert.Close(expected, pixels, 1e-5);
    }

    [Fact]
    public void Processor_resizes_other_sizes_to_image_size()
    {
        var config = ClipVisionConfig.Load(reference.Dir("clip"));
        var bytes = new byte[20 * 10 * 3];
        Array.Fill(bytes, (byte)255);
        using var pixels = ClipImageProcessor.ToPixelValues(bytes, 20, 10, config);
        Assert.Equal(new long[] { 3, 32, 32 }, pixels.shape);
        // a white image stays white: (1 - mean) / std per channel
        Assert.Equal((1 - 0.5f) / 0.2f, pixels[0, 5, 7].item<float>(), 4);
    }
}
