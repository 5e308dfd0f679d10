using LlavaMod.Data.Shards;
using ParquetSharp;

namespace LlavaMod.Data.Tests.Shards;

public class ShardWriterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("shardwriter").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    static ShardRow Row(int i) => new()
    {
        Key = $"00000{i:D4}", Source = "a.jsonl", SourceRow = i, Id = $"id{i}",
        Image = i % 2 == 0 ? new ImageCell { Bytes = [1, 2, (byte)i], Path = $"img{i}.jpg" } : null,
        ImageSha256 = i % 2 == 0 ? $"sha{i}" : null, Width = i % 2 == 0 ? 10 + i : null, Height = i % 2 == 0 ? 20 : null,
        Conversation = $"[{{\"role\":\"user\",\"text\":\"q{i}\"}}]",
        InputIds = Enumerable.Range(i, i % 4 + 1).ToArray(), LabelMask = Enumerable.Repeat((byte)1, i % 4 + 1).ToArray(),
        NumTokens = i % 4 + 1,
    };

    async Task<WrittenShard> WriteAsync(string name, int rows, int groupRows)
    {
        await using var writer = new ShardWriter<ShardRow>(Path.Combine(_dir, name), new ShardFormat { RowGroupRows = groupRows });
        for (int i = 0; i < rows; i++) await writer.AddAsync(Row(i));
        return await writer.CompleteAsync();
    }

    [Fact]
    public async Task Rows_round_trip_through_our_reader_across_row_groups()
    {
        var shard = await WriteAsync("00000.parquet", 7, 3);
        Assert.Equal(7, shard.Rows);
        var back = new List<ShardRow>();
        await foreach (var r in ShardReader.ReadRows(Path.Combine(_dir, shard.File))) back.Add(r);
        Assert.Equal(7, back.Count);
        for (int i = 0; i < 7; i++)
        {
            var want = Row(i);
            Assert.Equal(want.Key, back[i].Key);
            Assert.Equal(want.InputIds, back[i].InputIds);
            Assert.Equal(want.LabelMask, back[i].LabelMask);
            Assert.Equal(want.Image?.Bytes, back[i].Image?.Bytes);
            Assert.Equal(want.Width, back[i].Width);
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public async Task Same_rows_give_identical_bytes()
    {
        var a = await WriteAsync("a.parquet", 9, 4);
        var b = await WriteAsync("b.parquet", 9, 4);
        Assert.Equal(a.Sha256, b.Sha256);
    }

    [Fact]
    public async Task Arrow_reader_sees_row_groups_image_struct_list_column_and_hf_metadata()
    {
        var shard = await WriteAsync("00000.parquet", 7, 3);
        using var file = new ParquetFileReader(Path.Combine(_dir, shard.File));
        var meta = file.FileMetaData;
        Assert.Equal(7, meta.NumRows);
        Assert.Equal(3, meta.NumRowGroups);
        Assert.Contains("\"image\":{\"_type\":\"Image\"}", meta.KeyValueMetadata["huggingface"]);
        var schema = meta.Schema;
        var columns = Enumerable.Range(0, schema.NumColumns).Select(i => schema.Column(i).Path.ToDotString()).ToList();
        Assert.Contains("image.bytes", columns);
        Assert.Contains("image.path", columns);
        Assert.Contains(columns, c => c.StartsWith("input_ids.list."));
    }
}
