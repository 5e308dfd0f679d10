using LlavaMod.Demo.Corpus;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Demo.Tests.Corpus;

/// <summary>The drawn pixels agree with the scene: object colours at cell centres, background elsewhere.</summary>
public class DemoRendererTests
{
    [Fact]
    public void EveryShapeSizeAndJitterCoversTheCellCentrePixel()
    {
        // The cell-centre pixel (8, 8) has its centre at 8.5; object centres are 8 + jitter, jitter in −1..1.
        foreach (var shape in DemoVocabulary.Shapes)
            for (int size = 11; size <= 14; size++)
                for (int jx = -1; jx <= 1; jx++)
                    for (int jy = -1; jy <= 1; jy++)
                        Assert.True(DemoRenderer.Covers(shape, 0.5 - jx, 0.5 - jy, size / 2.0), $"{shape} size {size} jitter ({jx},{jy})");
    }

    [Fact]
    public void ShapesHaveDistinctMasksThatStayInsideTheCell()
    {
        var masks = DemoVocabulary.Shapes.Select(shape =>
        {
            var scene = new DemoScene("s", [new DemoObject("red", shape, 1, 1, 14, 24, 24)], false, 0);
            using var image = DemoRenderer.Render(scene);
            var bits = new System.Text.StringBuilder();
            for (int y = 0; y < 48; y++)
                for (int x = 0; x < 48; x++)
                {
                    bool on = image[x, y] == new Rgb24(220, 40, 40);
                    if (on) Assert.True(x is >= 16 and < 32 && y is >= 16 and < 32, $"{shape} pixel ({x},{y}) outside its cell");
                    bits.Append(on ? '1' : '0');
                }
            int area = bits.ToString().Count(c => c == '1');
            Assert.InRange(area, 40, 256);
            return bits.ToString();
        }).ToArray();
        Assert.Equal(masks.Length, masks.Distinct().Count());
    }

    [Fact]
    public void RenderedImagesMatchTheirScenes()
    {
        var generator = new DemoSceneGenerator(new DemoOptions { Seed = 11 });
        foreach (var scene in generator.Generate(new DemoSplit("test", 300, false)))
        {
            using var image = Image.Load<Rgb24>(DemoRenderer.RenderPng(scene));
            Assert.Equal((48, 48), (image.Width, image.Height));
            for (int row = 0; row < 3; row++)
                for (int col = 0; col < 3; col++)
                {
                    var centre = image[col * 16 + 8, row * 16 + 8];
                    var obj = scene.Objects.SingleOrDefault(o => o.Row == row && o.Col == col);
                    if (obj != null)
                    {
                        var (r, g, b) = DemoVocabulary.Rgb(obj.Color);
                        Assert.Equal(new Rgb24(r, g, b), centre);
                    }
                    else if (scene.NoisyBackground)
                        Assert.True(new[] { centre.R, centre.G, centre.B }.All(c => c is >= 100 - 45 and <= 100 + 45), $"{scene.Id} empty cell {row},{col}: {centre}");
                    else
                        Assert.Equal(new Rgb24(100, 100, 100), centre);
                }
        }
    }
}
