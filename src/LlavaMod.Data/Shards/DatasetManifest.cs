using LlavaMod.Core;

namespace LlavaMod.Data.Shards;

/// <summary>One input file as the manifest records it.</summary>
/// <param name="UnreadBytes">Set when the file could not be read to its end and the run kept the rows before the break (--allow-partial-source): the bytes lost.</param>
public sealed record InputFingerprint(string File, string Format, long Bytes, string Sha256, long SourceRows, long? ExpectedRows = null, long? UnreadBytes = null);

/// <summary>One shard file: the source block it holds, its rows, size and sha256.</summary>
public sealed record ShardEntry(string File, long Block, long FirstSourceRow, long SourceRows, long Rows, long Bytes, string Sha256);

/// <summary>
/// dataset.json: the description of a sharded dataset, written last and atomically, so a folder with
/// a manifest is complete. Everything that shapes the rows is recorded (tokenizer, template, image
/// settings, inputs by sha256, shard layout); nothing that varies between equal runs (threads, times).
/// </summary>
public sealed record DatasetManifest
{
    public const string FileName = "dataset.json";
    public const string CurrentFormat = "llavamod-shards/1";

    public string Format { get; init; } = CurrentFormat;
    public string ToolVersion { get; init; } = ToolInfo.Version;
    public ShardKind Kind { get; init; }
    public string TokenizerFingerprint { get; init; } = "";
    public string Template { get; init; } = "";
    public string EncoderFingerprint { get; init; } = "";
    public string ImageSettingsFingerprint { get; init; } = "";
    /// <summary>sha256 over every setting that changes the output; equal for all workers of one job.</summary>
    public string SettingsFingerprint { get; init; } = "";
    public long BlockRows { get; init; }
    public int RowGroupRows { get; init; }
    /// <summary>Row groups also close at about this many bytes of rows (null: by rows alone).</summary>
    public long? RowGroupBytes { get; init; }
    public long? MaxShardBytes { get; init; }
    public int KeyIndexDigits { get; init; }
    public bool KeepDuplicates { get; init; }
    public long SourceRows { get; init; }
    /// <summary>Set on a worker's partial manifest (worker-NNNNN-of-MMMMM.json); absent once merged.</summary>
    public int? Worker { get; init; }
    public int? Workers { get; init; }
    public IReadOnlyList<InputFingerprint> Inputs { get; init; } = [];
    public IReadOnlyList<ShardEntry> Shards { get; init; } = [];
    public DatasetStatistics Statistics { get; init; } = new();
    /// <summary>Token ids are in [0, VocabularySize) besides the image placeholder (-200); `verify --deep` checks it.</summary>
    public int? VocabularySize { get; init; }
    /// <summary>sha256 of this manifest's own JSON without this field, set on save: an edited dataset.json is refused.</summary>
    public string? Checksum { get; init; }

    public long Rows => Shards.Sum(s => s.Rows);

    public static string WorkerFileName(int worker, int workers) => $"worker-{worker:D5}-of-{workers:D5}.json";

    /// <summary>Reads DIR/dataset.json; a clear error when the folder holds no finished dataset.</summary>
    public static DatasetManifest Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
            throw LlavaModException.ForFile(dir, $"no {FileName}: not a finished dataset (an interrupted run resumes with 'llavamod shard --resume'; worker outputs join with 'llavamod merge')");
        var manifest = Json.ReadFile<DatasetManifest>(path);
        if (manifest.Format != CurrentFormat)
            throw LlavaModException.ForFile(path, $"format '{manifest.Format}' is not '{CurrentFormat}'");
        if (manifest.Checksum is { } recorded && recorded != manifest.ComputeChecksum())
            throw LlavaModException.ForFile(path,
                "was changed after it was written (its content does not match its checksum); run 'llavamod verify' on the folder, and re-create the manifest with 'llavamod shard --resume' or 'llavamod merge' instead of editing it");
        return manifest;
    }

    /// <summary>sha256 over the manifest's JSON with <see cref="Checksum"/> left out.</summary>
    public string ComputeChecksum() => Hashing.Sha256Hex(Json.Serialize(this with { Checksum = null }));

    public void Save(string dir, string fileName = FileName) =>
        Json.WriteFileAtomic(Path.Combine(dir, fileName), this with { Checksum = ComputeChecksum() });
}
