using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Etl;

/// <summary>Everything one `llavamod shard` run needs besides the encoder and the image stage.</summary>
public sealed record ShardJobOptions
{
    public required IReadOnlyList<SourceInput> Inputs { get; init; }
    public required string OutputDir { get; init; }
    public SourceReaderOptions Reader { get; init; } = new();
    /// <summary>Source rows per block; block k (source rows [k·R, (k+1)·R)) becomes shard k.</summary>
    public int BlockRows { get; init; } = 10_000;
    public ShardFormat Format { get; init; } = new();
    /// <summary>Row kind; null detects it from the first readable input row.</summary>
    public ShardKind? Kind { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    public bool Resume { get; init; }
    public bool KeepDuplicates { get; init; }
    /// <summary>This process's index and the number of processes for a split job (Slurm array, k8s indexed job).</summary>
    public int Worker { get; init; }
    public int Workers { get; init; } = 1;
    /// <summary>Expected source rows per input file (from a source manifest); a mismatch is reported.</summary>
    public IReadOnlyDictionary<string, long>? ExpectedRows { get; init; }
    /// <summary>Expected sha256 per input file (from a source manifest); a mismatch stops the run.</summary>
    public IReadOnlyDictionary<string, string>? ExpectedSha256 { get; init; }

    /// <summary>Keep the rows before the break of a JSON input that cannot be read to its end (else the run stops before any work).</summary>
    public bool AllowPartialSource { get; init; }
    /// <summary>A run that rejects more than this share of its source rows (or accepts none) is an error.</summary>
    public double MaxRejectShare { get; init; } = RejectShareCheck.DefaultMaxShare;

    public bool IsWorker => Workers > 1;

    /// <summary>Digits of the in-block index part of a key: 4 (img2dataset) or more for larger blocks.</summary>
    public int KeyIndexDigits => Math.Max(4, (BlockRows - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);

    public bool OwnsBlock(long block) => block % Workers == Worker;

    public void Validate()
    {
        if (BlockRows < 1) throw new Core.LlavaModException("--shard-rows must be at least 1");
        if (Format.RowGroupRows < 1) throw new Core.LlavaModException("--row-group-rows must be at least 1");
        if (Format.RowGroupBytes is < 1) throw new Core.LlavaModException("--row-group-mb must be positive");
        if (!(MaxRejectShare is >= 0 and <= 1)) throw new Core.LlavaModException($"--max-reject-share {MaxRejectShare}: must be between 0 and 1");
        if (Threads < 1) throw new Core.LlavaModException("--threads must be at least 1");
        if (Workers < 1 || Worker < 0 || Worker >= Workers)
            throw new Core.LlavaModException($"--worker {Worker} --workers {Workers}: need 0 <= worker < workers");
    }
}

/// <summary>What the pipeline reports while it runs (the CLI draws a progress bar from it).</summary>
/// <param name="InputBytesRead">Bytes of the inputs read so far (the files before the current one in full); with <paramref name="InputBytesTotal"/> it gives the fraction done.</param>
public sealed record ShardProgress(long SourceRowsRead, long RowsWritten, long Rejected, long DuplicatesDropped, int ShardsWritten, long SourceRowsSkipped,
    long InputBytesRead = 0, long InputBytesTotal = 0);
