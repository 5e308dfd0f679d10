namespace LlavaMod.Data.Sources;

/// <summary>WebDataset tar shards (placeholder until implemented).</summary>
public static class WebDatasetReader
{
    public static IAsyncEnumerable<SourceRecord> ReadAsync(string path, LlavaRowParser parser, CancellationToken ct) =>
        throw new Core.LlavaModException($"{path}: WebDataset input is not implemented yet");
}
