using LlavaMod.Data.Text;
using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;
using LlavaMod.Training.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace LlavaMod.Training.Tests.Data;

public class BatchPrefetcherTests
{
    static readonly ClipVisionConfig Vision = ModelPresets.Get("demo-student").Vision;

    public BatchPrefetcherTests() => TorchRuntime.EnsureLoaded();

    static byte[] Png(byte red)
    {
        using var image = new Image<Rgb24>(40, 30, new Rgb24(red, 30, 30));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }

    static SupervisedExample Example(int i, byte[]? image) =>
        new($"row-{i}", image is null ? [1, 2, 3] : [1, LlavaBatch.ImageTokenIndex, 3], [-100, -100, 3], image);

    static List<(TrainingPosition, TrainingBatch)> Source(int batches, Func<int, byte[]?> image) =>
        Enumerable.Range(0, batches).Select(b => (new TrainingPosition(0, b),
            (TrainingBatch)new SupervisedBatch([Example(2 * b, image(2 * b)), Example(2 * b + 1, null)]))).ToList();

    [Fact]
    public void Yields_the_source_batches_in_order_with_their_pixels_prepared()
    {
        var source = Source(5, i => Png((byte)(10 * i)));
        var seen = new List<string>();
        foreach (var (position, batch) in BatchPrefetcher.Ahead(source, Vision, depth: 2))
        {
            seen.AddRange(batch.Sequences.Select(e => e.Key));
            Assert.Equal(source[position.Batch].Item2.Sequences.Select(e => e.Key), batch.Sequences.Select(e => e.Key));
            using var expected = ClipImageProcessor.FromEncoded(batch.Sequences[0].ImageBytes!, batch.Sequences[0].Key, Vision);
            Assert.True(expected.allclose(batch.Pixels![0]!, rtol: 0, atol: 0));
            Assert.Null(batch.Pixels[1]); // no image, nothing to prepare
            using var pixels = batch.ToModelBatch(Vision, torch.CPU).PixelValues!;
            Assert.True(pixels[0].allclose(expected, rtol: 0, atol: 0));
        }
        Assert.Equal(source.SelectMany(s => s.Item2.Sequences).Select(e => e.Key), seen);
    }

    [Fact]
    public void Stopping_early_ends_the_worker_and_frees_the_prepared_pixels()
    {
        var source = Source(50, i => Png(7));
        TrainingBatch? taken = null;
        foreach (var (_, batch) in BatchPrefetcher.Ahead(source, Vision, depth: 1))
        {
            taken = batch;
            break;
        }
        Assert.True(taken!.Pixels![0]!.IsInvalid); // disposed when the consumer left
    }

    [Fact]
    public void A_corrupt_image_surfaces_at_its_batch()
    {
        var source = Source(4, i => i == 4 ? [1, 2, 3, 4] : Png(9));
        var keys = new List<string>();
        var error = Assert.Throws<LlavaModException>(() =>
        {
            foreach (var (_, batch) in BatchPrefetcher.Ahead(source, Vision)) keys.Add(batch.Sequences[0].Key);
        });
        Assert.Contains("row-4", error.Message);
        Assert.Equal(["row-0", "row-2"], keys);
    }

}
