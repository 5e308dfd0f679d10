using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>Settings every reader shares.</summary>
public sealed record SourceReaderOptions
{
    /// <summary>The user turn a caption row becomes (after the image tag).</summary>
    public string CaptionPrompt { get; init; } = DefaultCaptionPrompt;
    public const string DefaultCaptionPrompt = "Describe the image briefly.";
    /// <summary>CSV/TSV/Parquet column names, tried in order.</summary>
    public IReadOnlyList<string> ImageColumns { get; init; } = ["image", "image_path", "file_name", "filepath", "path", "jpg"];
    public IReadOnlyList<string> CaptionColumns { get; init; } = ["caption", "text", "txt", "title"];
    /// <summary>Updated with the byte offset in the file being read, when set.</summary>
    public ReadPosition? Position { get; init; }
}

/// <summary>
/// Reads all inputs in order as one stream of records. Records carry their per-file row; the
/// pipeline numbers them globally in this order (the "source row"), which fixes shard assignment.
/// </summary>
public static class SourceReaders
{
    public static IAsyncEnumerable<SourceRecord> Read(SourceInput input, SourceReaderOptions options, CancellationToken ct = default)
    {
        var parser = new LlavaRowParser(options.CaptionPrompt);
        return input.Format switch
        {
            SourceFormat.LlavaJson => JsonSourceReaders.ReadJsonArrayAsync(input.Path, parser, ct, options.Position),
            SourceFormat.LlavaJsonl => JsonSourceReaders.ReadJsonLinesAsync(input.Path, parser, ct, options.Position),
            SourceFormat.CaptionCsv => CaptionTableReader.ReadAsync(input.Path, ',', parser, options, ct),
            SourceFormat.CaptionTsv => CaptionTableReader.ReadAsync(input.Path, '\t', parser, options, ct),
            SourceFormat.WebDataset => WebDatasetReader.ReadAsync(input.Path, parser, ct, options.Position),
            SourceFormat.Parquet => ParquetSourceReader.ReadAsync(input.Path, parser, options, ct),
            _ => throw new LlavaModException($"{input.Path}: format {input.Format} has no reader"),
        };
    }

    public static async IAsyncEnumerable<(SourceInput Input, SourceRecord Record)> ReadAll(
        IReadOnlyList<SourceInput> inputs, SourceReaderOptions options,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var input in inputs)
            await foreach (var record in Read(input, options, ct))
                yield return (input, record);
    }
}
