using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Tests.Shards;

/// <summary>Shard images found by name through locators, read back a row group at a time.</summary>
public class ShardImageIndexTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("shardimages").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Every third row is text-only; the others carry distinct bytes (row 7 and row 40 share one sha256 and path).</summary>
    static ShardRow Row(int shard, int i)
    {
        bool image = i % 3 != 2;
        string name = i == 40 ? "shared" : $"s{shard}-r{i}";
        return new ShardRow
        {
            Key = $"{shard:D5}{i:D5}", Source = "a.jsonl", SourceRow = i, Conversation = "[]", InputIds = [1], LabelMask = [1], NumTokens = 1,
            Image = image ? new ImageCell { Bytes = Enumerable.Range(0, 50 + i % 7).Select(b => (byte)(b + i + shard)).ToArray(), Path = i == 7 ? "shared.jpg" : $"{name}.jpg" } : null,
            ImageSha256 = image ? (i == 7 ? "shared" : name) : null,
        };
    }

    async Task<string> WriteDatasetAsync(string name, int shards, int rows, int groupRows)
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        var entries = new List<ShardEntry>();
        for (int s = 0; s < shards; s++)
        {
            await using var writer = new ShardWriter<ShardRow>(Path.Combine(dir, $"{s:D5}.parquet"), new ShardFormat { RowGroupRows = groupRows });
            for (int i = 0; i < rows; i++) await writer.AddAsync(Row(s, i));
            var written = await writer.CompleteAsync();
            entries.Add(new ShardEntry(written.File, s, 0, rows, rows, written.Bytes, written.Sha256));
        }
        new DatasetManifest { Kind = ShardKind.Sft, Shards = entries }.Save(dir);
        return dir;
    }

    static Dictionary<string, ShardRow> AllRows(string dir) => DatasetManifest.Load(dir).Shards
        .SelectMany(s => ShardReader.ReadRows(Path.Combine(dir, s.File)).ToBlockingEnumerable()).ToDictionary(r => r.Key);

    [Fact]
    public async Task Only_asked_names_are_indexed_and_rows_are_read_back_in_file_order_each_once()
    {
        string dir = await WriteDatasetAsync("many", shards: 2, rows: 1200, groupRows: 100);
        var rows = AllRows(dir);
        string[] wanted = ["00001" + "00004", "s0-r1000.jpg", "s1-r301", "00000" + "00005" /* text-only */, "absent"];
        var index = await ShardImageIndex.BuildAsync([dir], wanted.ToHashSet());

        Assert.Equal(3, index.Count);
        Assert.False(index.TryFind("00000" + "00005", out _));
        Assert.False(index.TryFind("absent", out _));
        Assert.False(index.TryFind("s0-r3", out _)); // in the shards, but not asked for

        Assert.True(index.TryFind("s0-r1000.jpg", out var at));
        Assert.Equal(new ShardImageLocator(Path.Combine(dir, "00000.parquet"), 10, 0), at);
        Assert.True(index.TryFind("00001" + "00004", out var a));
        Assert.True(index.TryFind("s1-r301", out var b));
        // Read back in file, row group and row order, each row once.
        var read = Read([b, a, at, b]);
        Assert.Equal([at, a, b], read.Select(r => r.At));
        Assert.Equal(new[] { "00000" + "01000", "00001" + "00004", "00001" + "00301" }.Select(k => rows[k].Image!.Bytes!), read.Select(r => r.Bytes));
    }

    static List<(ShardImageLocator At, byte[] Bytes)> Read(IEnumerable<ShardImageLocator> rows) => ShardImageReader.ReadAllAsync(rows).ToBlockingEnumerable().ToList();

    [Fact]
    public async Task Without_names_every_row_with_an_image_is_indexed_and_the_first_row_wins_a_shared_name()
    {
        string dir = await WriteDatasetAsync("all", shards: 1, rows: 60, groupRows: 25);
        var rows = AllRows(dir);
        var index = await ShardImageIndex.BuildAsync([dir]);
        foreach (var row in rows.Values)
        {
            Assert.Equal(row.Image is not null, index.TryFind(row.Key, out var at));
            if (row.Image is not null) Assert.Equal(row.Image.Bytes, Read([at]).Single().Bytes);
        }
        Assert.True(index.TryFind("shared", out var shared)); // the sha256 of rows 7 and 40
        Assert.Equal(rows["00000" + "00007"].Image!.Bytes, Read([shared]).Single().Bytes);
        Assert.True(index.TryFind("shared.jpg", out var path));
        Assert.Equal(rows["00000" + "00007"].Image!.Bytes, Read([path]).Single().Bytes);
    }

    [Fact]
    public async Task A_truncated_or_corrupt_shard_is_an_error_naming_the_file()
    {
        string dir = await WriteDatasetAsync("broken", shards: 1, rows: 300, groupRows: 100);
        string file = Path.Combine(dir, "00000.parquet");
        var index = await ShardImageIndex.BuildAsync([dir], new HashSet<string> { "s0-r250" });
        Assert.True(index.TryFind("s0-r250", out var at));

        byte[] original = File.ReadAllBytes(file);
        byte[] scrambled = original.ToArray();
        for (int i = original.Length / 10; i < original.Length * 8 / 10; i++) scrambled[i] ^= 0x5A; // pages broken, footer intact
        File.WriteAllBytes(file, scrambled);
        var e = Assert.Throws<LlavaModException>(() => Read([at]));
        Assert.Contains(file, e.Message);

        File.WriteAllBytes(file, original[..(original.Length / 2)]);
        e = await Assert.ThrowsAsync<LlavaModException>(() => ShardImageIndex.BuildAsync([dir], new HashSet<string> { "s0-r250" }));
        Assert.Contains(file, e.Message);
        Assert.Contains("truncated or corrupt", e.Message);
        e = Assert.Throws<LlavaModException>(() => Read([at]));
        Assert.Contains(file, e.Message);

        File.Delete(file);
        e = Assert.Throws<LlavaModException>(() => Read([at]));
        Assert.Contains(file, e.Message);
    }
}
