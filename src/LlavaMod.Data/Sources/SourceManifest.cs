using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>One input named by a source manifest. Paths are relative to the manifest's folder; path may be a glob.</summary>
public sealed record SourceManifestInput
{
    public string Path { get; init; } = "";
    /// <summary>llava-json, llava-jsonl, caption-csv, caption-tsv, webdataset, parquet; detected from the extension when absent.</summary>
    public string? Format { get; init; }
    /// <summary>Image folders for this input; the manifest's image_roots when absent.</summary>
    public IReadOnlyList<string>? ImageRoots { get; init; }
    /// <summary>Rows the file should have (checked after the run; a mismatch is reported).</summary>
    public long? ExpectedRows { get; init; }
    /// <summary>sha256 of the file (checked before the run; a mismatch stops it).</summary>
    public string? Sha256 { get; init; }
}

/// <summary>
/// manifests/NAME.json: everything a `shard` run reads, so a dataset is one reproducible command
/// (`llavamod shard --source manifests/NAME.json --out DIR`).
/// </summary>
public sealed record SourceManifest
{
    public string Name { get; init; } = "";
    public string? Description { get; init; }
    public IReadOnlyList<string> ImageRoots { get; init; } = [];
    public string? CaptionPrompt { get; init; }
    public IReadOnlyList<SourceManifestInput> Inputs { get; init; } = [];

    public static SourceManifest Load(string path) => ConfigJson.ReadFile<SourceManifest>(path);

    /// <summary>The inputs with paths resolved against <paramref name="baseDir"/> (the manifest's folder), in order.</summary>
    public IReadOnlyList<(SourceInput Input, SourceManifestInput Declared)> Resolve(string baseDir, SourceFormat? forced = null)
    {
        if (Inputs.Count == 0) throw new LlavaModException($"source manifest '{Name}' lists no inputs");
        string Full(string p) => System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, p));
        var list = new List<(SourceInput, SourceManifestInput)>();
        foreach (var declared in Inputs)
        {
            var roots = (declared.ImageRoots ?? ImageRoots).Select(Full).ToList();
            foreach (string file in SourceInput.ExpandGlob(Full(declared.Path)))
            {
                var format = forced ?? (declared.Format is { } f ? SourceFormats.Parse(f) : SourceFormats.Detect(file));
                list.Add((new SourceInput(file, format, roots), declared));
            }
        }
        return list;
    }
}
