using System.Diagnostics;
using DuckDB.NET.Data;
using LlavaMod.Data.Sources;
using LlavaMod.Data.Tests.Etl;

namespace LlavaMod.Data.Tests.Sources;

public class OtherReaderTests : IDisposable
{
    readonly TestCorpus _corpus = new();
    readonly LlavaRowParser _parser = new("Describe.");
    readonly SourceReaderOptions _options = new() { CaptionPrompt = "Describe." };
    public void Dispose() => _corpus.Dispose();

    static async Task<List<SourceRecord>> All(IAsyncEnumerable<SourceRecord> records)
    {
        var list = new List<SourceRecord>();
        await foreach (var r in records) list.Add(r);
        return list;
    }

    [Fact]
    public async Task Csv_quoted_fields_and_bad_rows()
    {
        string path = Path.Combine(_corpus.Root, "caps.csv");
        File.WriteAllText(path, "url,caption,image\n" +
            "u1,\"A dog, running\",a.png\n" +
            "u2,\"Two\nlines \"\"quoted\"\"\",b.png\n" +
            "u3,too,many,fields\n" +
            "u4,,c.png\n" +
            "u5,No image,\n");
        var r = await All(CaptionTableReader.ReadAsync(path, ',', _parser, _options, default));
        Assert.Equal(5, r.Count);
        Assert.Equal("A dog, running", r[0].Turns[1].Text);
        Assert.Equal("<image>\nDescribe.", r[0].Turns[0].Text);
        Assert.Equal("a.png", r[0].Image!.Path);
        Assert.Equal("Two\nlines \"quoted\"", r[1].Turns[1].Text);
        Assert.Equal(RejectReasons.MalformedRow, r[2].Failure!.ReasonCode);
        Assert.Equal(RejectReasons.MissingField, r[3].Failure!.ReasonCode);
        Assert.Null(r[4].Image);
        Assert.Equal([0L, 1, 2, 3, 4], r.Select(x => x.SourceRow));
    }

    [Fact]
    public async Task WebDataset_tar_made_by_gnu_tar_groups_samples_by_key()
    {
        string dir = Path.Combine(_corpus.Root, "wds");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(_corpus.Images, _corpus.MakeImage("x.png", 9, 7, 40)), Path.Combine(dir, "s1.png"));
        File.WriteAllText(Path.Combine(dir, "s1.txt"), "A red square.\n");
        File.Copy(Path.Combine(_corpus.Images, "x.png"), Path.Combine(dir, "s2.jpg"));
        File.WriteAllText(Path.Combine(dir, "s2.json"), "{\"conversations\": [{\"from\": \"human\", \"value\": \"<image>\\nWhat?\"}, {\"from\": \"gpt\", \"value\": \"A square.\"}]}");
        File.Copy(Path.Combine(_corpus.Images, "x.png"), Path.Combine(dir, "s3.png"));
        string tar = Path.Combine(_corpus.Root, "data.tar");
        using (var p = Process.Start(new ProcessStartInfo("tar", ["-cf", tar, "-C", dir, "s1.png", "s1.txt", "s2.jpg", "s2.json", "s3.png"]))!) p.WaitForExit();

        var r = await All(WebDatasetReader.ReadAsync(tar, _parser, default));
        Assert.Equal(3, r.Count);
        Assert.Equal("s1", r[0].Id);
        Assert.Equal("A red square.", r[0].Turns[1].Text);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "s1.png")), r[0].Image!.Bytes);
        Assert.Equal("A square.", r[1].Turns[1].Text);
        Assert.Equal("s2.jpg", r[1].Image!.Path);
        Assert.Equal(RejectReasons.MissingField, r[2].Failure!.ReasonCode);
    }

    [Fact]
    public async Task Parquet_written_by_duckdb_rlaifv_struct_images_and_img2dataset_blobs()
    {
        string png = Path.Combine(_corpus.Images, _corpus.MakeImage("p.png", 5, 4, 9));
        string rlaif = Path.Combine(_corpus.Root, "rlaifv.parquet");
        string i2d = Path.Combine(_corpus.Root, "img2dataset.parquet");
        using (var db = new DuckDBConnection("DataSource=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText =
                $"COPY (SELECT 'Is it blue?' AS question, 'No, green.' AS chosen, 'Yes.' AS rejected, " +
                $"  {{'bytes': content, 'path': 'p.png'}} AS image, 'src' AS origin_dataset FROM read_blob('{png}')) TO '{rlaif}' (FORMAT parquet);" +
                $"COPY (SELECT * FROM (VALUES ('000000000', 'a cat', 'success'), ('000000001', 'a dog', 'failed_to_download')) t(key, caption, status) " +
                $"  CROSS JOIN (SELECT content AS jpg FROM read_blob('{png}')) ORDER BY key) TO '{i2d}' (FORMAT parquet);";
            cmd.ExecuteNonQuery();
        }
        var pref = await All(ParquetSourceReader.ReadAsync(rlaif, _parser, _options, default));
        Assert.Single(pref);
        Assert.Equal(new PreferencePair("No, green.", "Yes."), pref[0].Preference);
        Assert.Equal("<image>\nIs it blue?", pref[0].Turns[0].Text);
        Assert.Equal(File.ReadAllBytes(png), pref[0].Image!.Bytes);
        Assert.Equal("p.png", pref[0].Image!.Path);

        var caps = await All(ParquetSourceReader.ReadAsync(i2d, _parser, _options, default));
        Assert.Equal(2, caps.Count);
        Assert.Equal("000000000", caps[0].Id);
        Assert.Equal("a cat", caps[0].Turns[1].Text);
        Assert.Equal(File.ReadAllBytes(png), caps[0].Image!.Bytes);
        Assert.Equal(RejectReasons.ImageMissing, caps[1].Failure!.ReasonCode);
    }
}
