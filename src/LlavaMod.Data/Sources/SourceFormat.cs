namespace LlavaMod.Data.Sources;

/// <summary>The input layouts the shard command reads.</summary>
public enum SourceFormat
{
    /// <summary>LLaVA conversation JSON (top-level array) or JSONL; also LLaVA-Pretrain captions and
    /// LLaVA-MoD/RLAIF-V preference rows (`chosen`/`rejected`), told apart per row.</summary>
    LlavaJson,
    LlavaJsonl,
    /// <summary>CSV with a header: an image path column and a caption column.</summary>
    CaptionCsv,
    CaptionTsv,
    /// <summary>WebDataset tar: key.jpg|png|webp + key.txt|json grouped by key.</summary>
    WebDataset,
    /// <summary>Parquet from img2dataset, Hugging Face (image binary or struct {bytes, path}) or RLAIF-V.</summary>
    Parquet,
}

/// <summary>Format detection from a file name, with an explicit override.</summary>
public static class SourceFormats
{
    public static SourceFormat Detect(string path)
    {
        string name = path.ToLowerInvariant();
        if (name.EndsWith(".jsonl") || name.EndsWith(".ndjson")) return SourceFormat.LlavaJsonl;
        if (name.EndsWith(".json")) return SourceFormat.LlavaJson;
        if (name.EndsWith(".csv")) return SourceFormat.CaptionCsv;
        if (name.EndsWith(".tsv")) return SourceFormat.CaptionTsv;
        if (name.EndsWith(".tar")) return SourceFormat.WebDataset;
        if (name.EndsWith(".parquet")) return SourceFormat.Parquet;
        throw new Core.LlavaModException(
            $"{path}: cannot tell the input format from the extension; pass --format " +
            "(llava-json, llava-jsonl, caption-csv, caption-tsv, webdataset, parquet)");
    }

    public static SourceFormat Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "llava-json" or "json" => SourceFormat.LlavaJson,
        "llava-jsonl" or "jsonl" => SourceFormat.LlavaJsonl,
        "caption-csv" or "csv" => SourceFormat.CaptionCsv,
        "caption-tsv" or "tsv" => SourceFormat.CaptionTsv,
        "webdataset" or "wds" or "tar" => SourceFormat.WebDataset,
        "parquet" => SourceFormat.Parquet,
        _ => throw new Core.LlavaModException(
            $"unknown --format '{text}' (llava-json, llava-jsonl, caption-csv, caption-tsv, webdataset, parquet)"),
    };
}
