using DuckDB.NET.Data;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Tests.Etl;

namespace LlavaMod.Data.Tests.Shards;

/// <summary>DuckDB (its own Parquet reader, no code of ours) reads the shards a pipeline run wrote.</summary>
public class IndependentReaderTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    [Fact]
    public async Task DuckDB_sees_the_rows_an_image_struct_and_int_lists()
    {
        string input = _corpus.WriteJsonl("a.jsonl", _corpus.MixedRows(30));
        string dir = Path.Combine(_corpus.Root, "out");
        var manifest = await PipelineRunner.RunAsync(PipelineRunner.Options(_corpus, dir, [input]));
        var ours = new List<ShardRow>();
        await foreach (var r in DatasetReader.EnumerateRows(dir)) ours.Add(r);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        string glob = Path.Combine(dir, "*.parquet").Replace("'", "''");
        cmd.CommandText = $"SELECT key, id, image.bytes, image.path, input_ids, label_mask, num_tokens, typeof(image), typeof(input_ids) " +
                          $"FROM read_parquet('{glob}') ORDER BY key";
        using var reader = cmd.ExecuteReader();
        int n = 0;
        while (reader.Read())
        {
            var want = ours[n++];
            Assert.Equal(want.Key, reader.GetString(0));
            Assert.Equal(want.Id, reader.GetString(1));
            if (want.Image is null) Assert.True(reader.IsDBNull(2));
            else
            {
                using var blob = (Stream)reader.GetValue(2);
                using var ms = new MemoryStream();
                blob.CopyTo(ms);
                Assert.Equal(want.Image.Bytes, ms.ToArray());
                Assert.Equal(want.Image.Path, reader.GetString(3));
            }
            var ids = ((System.Collections.IEnumerable)reader.GetValue(4)).Cast<int>().ToArray();
            Assert.Equal(want.InputIds, ids);
            Assert.Equal(want.NumTokens, reader.GetInt32(6));
            Assert.Equal("STRUCT(bytes BLOB, path VARCHAR)", reader.GetString(7));
            Assert.Equal("INTEGER[]", reader.GetString(8));
        }
        Assert.Equal(manifest.Rows, n);
        Assert.True(n > 10);

        using var meta = db.CreateCommand();
        meta.CommandText = $"SELECT decode(value) FROM parquet_kv_metadata('{Path.Combine(dir, "00000.parquet")}') WHERE decode(key) = 'huggingface'";
        string features = (string)meta.ExecuteScalar()!;
        Assert.Contains("\"image\":{\"_type\":\"Image\"}", features);
        Assert.Contains("\"input_ids\":{\"feature\":{\"dtype\":\"int32\",\"_type\":\"Value\"},\"_type\":\"Sequence\"}", features);
    }
}
