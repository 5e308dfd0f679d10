namespace LlavaMod.Data.Sources;

/// <summary>CSV/TSV caption pairs (placeholder until implemented).</summary>
public static class CaptionTableReader
{
    public static IAsyncEnumerable<SourceRecord> ReadAsync(string path, char separator, LlavaRowParser parser, SourceReaderOptions options, CancellationToken ct) =>
        throw new Core.LlavaModException($"{path}: CSV/TSV input is not implemented yet");
}
