using BenchmarkDotNet.Attributes;
using LlavaMod.Data.Shards;

namespace LlavaMod.Benchmarks.Shards;

/// <summary>
/// Writing one shard of <see cref="Rows"/> ETL rows (<see cref="BenchmarkShardRows"/>) in row groups
/// of <see cref="ShardFormat.RowGroupRows"/>, zstd: our <see cref="ShardWriter{T}"/> (Parquet.Net)
/// against ParquetSharp (Arrow C++) in the same process, bare and with the fsync and SHA-256 our
/// writer does when it completes a shard; and the Parquet.Net call our writer makes, alone. Setup checks that both files have the same
/// leaf columns (path, physical type, definition and repetition levels) and row groups, and reports
/// the raw size so that MB/s can be computed (printed to the log).
/// Run: dotnet run -c Release --project tests/LlavaMod.Benchmarks -- --filter '*ShardWrite*'
/// </summary>
[MemoryDiagnoser]
public class ShardWriteBenchmarks
{
    ShardRow[] rows = [];
    string dir = "";
    readonly ShardFormat format = new();

    [Params(4000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        rows = BenchmarkShardRows.Create(Rows);
        dir = Directory.CreateTempSubdirectory("llavamod-shardbench").FullName;
        Ours();
        ParquetNetSerializerOnly();
        ParquetSharpArrow();
        ShardLayout.RequireSame(Path.Combine(dir, "ours.parquet"), Path.Combine(dir, "peer.parquet"));
        if (!File.ReadAllBytes(Path.Combine(dir, "ours.parquet")).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir, "serializer.parquet"))))
            throw new InvalidOperationException("the serializer-only file differs from our shard");
        Console.WriteLine($"// shard input ≈ {InputBytes / 1e6:F1} MB; ours {new FileInfo(Path.Combine(dir, "ours.parquet")).Length / 1e6:F1} MB, " +
                          $"ParquetSharp {new FileInfo(Path.Combine(dir, "peer.parquet")).Length / 1e6:F1} MB on disk");
    }

    /// <summary>Bytes of the rows' values (image bytes, strings as UTF-16 length, ids 4 bytes each, ~120 for the small columns).</summary>
    public long InputBytes => rows.Sum(r => (long)(r.Image?.Bytes?.Length ?? 0) + r.Conversation.Length + 4L * r.InputIds.Length + r.LabelMask.Length + 120);

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(dir, recursive: true);

    [Benchmark(Baseline = true)]
    public long Ours() => WriteOursAsync().GetAwaiter().GetResult();

    async Task<long> WriteOursAsync()
    {
        await using var writer = new ShardWriter<ShardRow>(Path.Combine(dir, "ours.parquet"), format);
        foreach (var row in rows) await writer.AddAsync(row);
        return (await writer.CompleteAsync()).Bytes;
    }

    /// <summary>
    /// The library call our writer makes, alone: Parquet.Net's serializer appending one row group at
    /// a time to a file, without our fsync, rename and SHA-256 of the finished file.
    /// </summary>
    [Benchmark]
    public long ParquetNetSerializerOnly() => WriteSerializerOnlyAsync().GetAwaiter().GetResult();

    async Task<long> WriteSerializerOnlyAsync()
    {
        var metadata = new Dictionary<string, string> { [HuggingFaceFeatures.MetadataKey] = HuggingFaceFeatures.Json<ShardRow>() };
        await using var stream = new FileStream(Path.Combine(dir, "serializer.parquet"), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        for (int start = 0; start < rows.Length; start += format.RowGroupRows)
        {
            var group = rows.AsSpan(start, Math.Min(format.RowGroupRows, rows.Length - start)).ToArray();
            await Parquet.Serialization.ParquetSerializer.SerializeAsync(group, stream, format.ParquetOptions(append: start > 0), metadata);
        }
        return stream.Length;
    }

    [Benchmark]
    public long ParquetSharpArrow()
    {
        string path = Path.Combine(dir, "peer.parquet");
        ParquetSharpShardWriter.Write(path, rows, format.RowGroupRows);
        return new FileInfo(path).Length;
    }

    /// <summary>ParquetSharp plus what our writer does after the last row group: fsync and SHA-256 of the file.</summary>
    [Benchmark]
    public long ParquetSharpArrowFsyncSha256()
    {
        string path = Path.Combine(dir, "peer.parquet");
        ParquetSharpShardWriter.Write(path, rows, format.RowGroupRows);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite)) stream.Flush(flushToDisk: true);
        return LlavaMod.Core.Hashing.Sha256OfFile(path).Length;
    }
}
