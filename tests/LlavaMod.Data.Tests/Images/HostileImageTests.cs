using System.IO.Compression;
using LlavaMod.Core;
using LlavaMod.Data.Images;

namespace LlavaMod.Data.Tests.Images;

/// <summary>Images built to exhaust memory, and truncations decided as Pillow decides them (issue 16.4).</summary>
public class HostileImageTests
{
    static readonly ImageProcessor Processor = new(new ImageOptions());

    static byte[] Zlib(byte[] data)
    {
        using var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(data);
        return output.ToArray();
    }

    /// <summary>A small valid PNG with <paramref name="chunk"/> inserted after IHDR.</summary>
    static byte[] PngWith(byte[] chunk)
    {
        byte[] png = TestImages.Gradient(40, 30);
        int afterIhdr = 8 + 12 + 13;
        return [.. png[..afterIhdr], .. chunk, .. png[afterIhdr..]];
    }

    static byte[] Latin1(string s) => System.Text.Encoding.Latin1.GetBytes(s);

    public static TheoryData<string, byte[]> Bombs()
    {
        byte[] hundredMb = Zlib(new byte[100 << 20]);
        return new()
        {
            { "zTXt", [.. Latin1("Comment\0"), 0, .. hundredMb] },
            { "iTXt", [.. Latin1("Comment\0"), 1, 0, .. Latin1("en\0\0"), .. hundredMb] },
            { "iCCP", [.. Latin1("icc\0"), 0, .. hundredMb] },
        };
    }

    [Theory]
    [MemberData(nameof(Bombs))]
    public void A_png_whose_metadata_inflates_to_100_MB_is_refused_before_decoding(string type, byte[] data)
    {
        byte[] png = PngWith(PngBytes.Chunk(type, data));
        Assert.True(png.Length < 200_000, $"the file is small ({png.Length:N0} bytes)");
        var e = Assert.Throws<RowRejectedException>(() => Processor.Process(png, "bomb.png"));
        Assert.Equal(ImageRejectReasons.MetadataTooLarge, e.ReasonCode);
        Assert.Contains($"PNG {type} chunk", e.Message);
    }

    [PillowFact]
    public void Pillow_refuses_the_same_bombs_and_accepts_the_same_modest_metadata()
    {
        byte[] tenKb = Zlib(Latin1(new string('x', 10_000)));
        var cases = new List<(byte[] Png, bool Ours)>();
        foreach (var row in Bombs())
        {
            byte[] png = PngWith(PngBytes.Chunk((string)row[0], (byte[])row[1]));
            cases.Add((png, Accepts(png)));
        }
        byte[] modest = PngWith(PngBytes.Chunk("zTXt", [.. Latin1("Comment\0"), 0, .. tenKb]));
        cases.Add((modest, Accepts(modest)));
        var pillow = PillowReference.Loads(cases.Select(c => c.Png).ToList());
        Assert.Equal(pillow, cases.Select(c => c.Ours).ToArray());
        Assert.Equal([false, false, false, true], pillow);
    }

    static bool Accepts(byte[] image)
    {
        try { Processor.Process(image, "x"); return true; }
        catch (RowRejectedException) { return false; }
    }

    [PillowFact]
    public void Truncated_jpegs_are_refused_exactly_where_pillow_refuses_them()
    {
        byte[] baseline = PillowReference.Produce("import random\nrandom.seed(1)\nimg = Image.new('RGB', (64, 48))\n" +
            "img.putdata([(random.randrange(256), x * 4, y * 5) for y in range(48) for x in range(64)])\nimg.save(out, 'JPEG', quality=90)");
        byte[] progressive = PillowReference.Produce("import random\nrandom.seed(2)\nimg = Image.new('RGB', (64, 48))\n" +
            "img.putdata([(random.randrange(256), x * 4, y * 5) for y in range(48) for x in range(64)])\nimg.save(out, 'JPEG', quality=90, progressive=True)");
        var cases = new List<byte[]>();
        foreach (var jpeg in new[] { baseline, progressive })
            for (int cut = 100; cut < jpeg.Length; cut += Math.Max(1, jpeg.Length / 40))
            {
                cases.Add(jpeg[..cut]);                       // data stops
                cases.Add([.. jpeg[..cut], 0xFF, 0xD9]);      // data stops, an end-of-image marker follows
            }
        bool[] pillow = PillowReference.Loads(cases);
        var differ = cases.Select((c, i) => (i, c.Length, Pillow: pillow[i], Ours: Accepts(c))).Where(r => r.Pillow != r.Ours).ToList();
        Assert.True(differ.Count == 0, "differs from Pillow: " + string.Join("; ", differ.Select(d => $"case {d.i} ({d.Length} bytes): Pillow {(d.Pillow ? "accepts" : "refuses")}")));
    }

    [Fact]
    public async Task The_decode_budget_holds_a_second_image_until_the_first_is_done_but_never_blocks_one_alone()
    {
        var budget = new DecodeBudget(100);
        using (budget.Take(500)) Assert.Equal(500, budget.InUse); // larger than the budget, alone: runs
        var first = budget.Take(80);
        var second = Task.Run(() => budget.Take(30));
        SpinWait.SpinUntil(() => budget.Waiting == 1);
        Assert.False(second.IsCompleted);
        Assert.Equal(80, budget.InUse);
        first.Dispose();
        (await second).Dispose();
        Assert.Equal(0, budget.InUse);
    }
}
