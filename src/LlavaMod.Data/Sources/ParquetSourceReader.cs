namespace LlavaMod.Data.Sources;

/// <summary>Parquet inputs (placeholder until implemented).</summary>
public static class ParquetSourceReader
{
    public static IAsyncEnumerable<SourceRecord> ReadAsync(string path, LlavaRowParser parser, SourceReaderOptions options, CancellationToken ct) =>
        throw new Core.LlavaModException($"{path}: Parquet input is not implemented yet");
}
