using LlavaMod.Core;
using LlavaMod.LogitCache;

namespace LlavaMod.Training.Tests.LogitCache;

public sealed class LogitCacheErrorTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cache-err-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    async Task<string> ValidCacheAsync(string name)
    {
        var rows = SyntheticTeacher.Rows(rows: 12, minTokens: 3, maxTokens: 6, vocab: 5000, k: 8, scale: 2, zipf: 0, seed: 4);
        string path = Path.Combine(_dir, name);
        await SyntheticTeacher.WriteAsync(path, SyntheticTeacher.Metadata(5000, 8, rowGroupRows: 4), rows);
        return path;
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.98)]
    [InlineData(0.02)]
    public async Task A_truncated_cache_is_an_error_naming_the_file(double keep)
    {
        string path = await ValidCacheAsync($"trunc-{keep}.parquet");
        byte[] bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(int)(bytes.Length * keep)]);
        var e = await Assert.ThrowsAsync<LlavaModException>(async () =>
        {
            await using var reader = await LogitCacheReader.OpenAsync(path);
            await foreach (var _ in reader.ReadAllAsync()) { }
        });
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Garbage_and_foreign_files_are_errors_naming_the_file()
    {
        string garbage = Path.Combine(_dir, "garbage.parquet");
        await File.WriteAllBytesAsync(garbage, Enumerable.Range(0, 5000).Select(i => (byte)(i * 37)).ToArray());
        var e = await Assert.ThrowsAsync<LlavaModException>(() => LogitCacheReader.OpenAsync(garbage));
        Assert.Contains(garbage, e.Message);

        string corrupt = await ValidCacheAsync("corrupt.parquet");
        byte[] bytes = await File.ReadAllBytesAsync(corrupt);
        for (int i = 100; i < bytes.Length / 2; i += 7) bytes[i] ^= 0x5A; // data pages, footer intact
        await File.WriteAllBytesAsync(corrupt, bytes);
        e = await Assert.ThrowsAsync<LlavaModException>(async () =>
        {
            await using var reader = await LogitCacheReader.OpenAsync(corrupt);
            await foreach (var _ in reader.ReadAllAsync()) { }
        });
        Assert.Contains(corrupt, e.Message);
    }

    [Fact]
    public async Task Bad_rows_are_refused_at_write_time_naming_the_key()
    {
        string path = Path.Combine(_dir, "bad.parquet");
        await using var writer = await LogitCacheWriter.CreateAsync(path, SyntheticTeacher.Metadata(vocab: 100, k: 2));
        var e = await Assert.ThrowsAsync<LlavaModException>(() => writer.AppendAsync("r1", [[3, 100]], [[-0.1f, -2f]], [-3f]));
        Assert.Contains("'r1'", e.Message);
        Assert.Contains("id 100", e.Message);
        e = await Assert.ThrowsAsync<LlavaModException>(() => writer.AppendAsync("r2", [[3, 3]], [[-0.1f, -2f]], [-3f]));
        Assert.Contains("twice", e.Message);
        e = await Assert.ThrowsAsync<LlavaModException>(() => writer.AppendAsync("r3", [[3, 4]], [[-0.1f, float.NaN]], [-3f]));
        Assert.Contains("'r3'", e.Message);
        await writer.AppendAsync("ok", [[3, 4]], [[-2f, -0.1f]], [-3f]);
        e = await Assert.ThrowsAsync<LlavaModException>(() => writer.AppendAsync("ok", [[3, 4]], [[-2f, -0.1f]], [-3f]));
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public async Task An_abandoned_writer_leaves_no_file()
    {
        string path = Path.Combine(_dir, "abandoned.parquet");
        await using (var writer = await LogitCacheWriter.CreateAsync(path, SyntheticTeacher.Metadata(100, 2)))
            await writer.AppendAsync("a", [[1, 2]], [[-0.5f, -1f]], [-2f]);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task A_cache_of_an_older_format_version_is_refused_naming_the_version()
    {
        // A version-1 file: what an older llavamod wrote (bit-packed ids), metadata as it stored it.
        string path = Path.Combine(_dir, "v1.parquet");
        var key = new Parquet.Schema.DataField<string>("key");
        await using (var stream = File.Create(path))
        await using (var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(key), stream))
        {
            writer.CustomMetadata = new Dictionary<string, string>
            {
                [LogitCacheMetadata.MetadataKey] = """{"k": 8, "vocab_size": 5000, "teacher_fingerprint": "t", "tokenizer_fingerprint": "x", "format_version": 1}""",
            };
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync(key, new[] { "a" });
        }
        var e = await Assert.ThrowsAsync<LlavaModException>(() => LogitCacheReader.OpenAsync(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("format version 1", e.Message);
        Assert.Contains($"reads version {LogitCacheMetadata.CurrentFormatVersion}", e.Message);

        File.WriteAllText(Path.Combine(_dir, LogitCacheManifest.FileName), """{"format": "llavamod-logit-cache/1", "tool_version": "0.1.0", "k": 8, "vocab_size": 5000, "shards": []}""");
        e = Assert.Throws<LlavaModException>(() => LogitCacheManifest.Load(_dir));
        Assert.Contains("'llavamod-logit-cache/1'", e.Message);
        Assert.Contains(LogitCacheManifest.CurrentFormat, e.Message);
    }
}
