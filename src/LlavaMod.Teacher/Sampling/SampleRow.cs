using System.Text.Json.Serialization;
using LlavaMod.Core;

namespace LlavaMod.Teacher.Sampling;

/// <summary>One sampled response, a row of a samples Parquet file (one file per data shard).</summary>
public sealed class SampleRow
{
    /// <summary>Key of the data row whose prompt was answered.</summary>
    [JsonPropertyName("key")] public string Key { get; set; } = "";
    /// <summary>The data row's id (for the demo: the question id of the ground truth).</summary>
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("sample_index")] public int SampleIndex { get; set; }
    [JsonPropertyName("seed")] public long Seed { get; set; }
    [JsonPropertyName("text")] public string Text { get; set; } = "";
    /// <summary>Generated ids, the stop token included when generation stopped on one.</summary>
    [JsonPropertyName("token_ids")] public int[] TokenIds { get; set; } = [];
    /// <summary>log p(token | prefix) under the sampling model at temperature 1.</summary>
    [JsonPropertyName("token_logprobs")] public float[] TokenLogProbs { get; set; } = [];
    [JsonPropertyName("finish_reason")] public string FinishReason { get; set; } = "";
}

/// <summary>One data shard's finished samples file.</summary>
public sealed record SampleShard(string File, string DataShard, long Prompts, long Samples, string Sha256);

/// <summary>samples.json: settings and finished shards of a sampling run (rewritten after each shard).</summary>
public sealed record SampleManifest
{
    public const string FileName = "samples.json";
    public string Format { get; init; } = "llavamod-samples/1";
    public string ToolVersion { get; init; } = ToolInfo.Version;
    public string ModelFolder { get; init; } = "";
    public string ModelFingerprint { get; init; } = "";
    public string DataFolder { get; init; } = "";
    /// <summary>The data manifest's checksum: workers of one job must have read the same dataset.json.</summary>
    public string? DataChecksum { get; init; }
    public int SamplesPerPrompt { get; init; }
    public double Temperature { get; init; }
    public double TopP { get; init; }
    public int TopK { get; init; }
    public int MaxNewTokens { get; init; }
    public long Seed { get; init; }
    public string? OnlyIdsEndingWith { get; init; }
    /// <summary>Compute precision of the sampling model (fp32 or bf16 mixed precision).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>Set on a worker's output (--worker i --workers n); absent on a whole folder, so a merged folder equals a single run's.</summary>
    public WorkerPart? Worker { get; init; }
    public List<SampleShard> Shards { get; init; } = new();

    public static SampleManifest Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw LlavaModException.ForFile(dir, $"no {FileName}: not a samples folder (make one with 'llavamod teacher sample')");
        return Json.ReadFile<SampleManifest>(path);
    }

    public void Save(string dir) => Json.WriteFileAtomic(Path.Combine(dir, FileName), this);

    /// <summary>The settings that must match for a rerun to continue this folder.</summary>
    public string SettingsKey => $"{ModelFingerprint}|{DataFolder}|{DataChecksum}|{SamplesPerPrompt}|{Temperature}|{TopP}|{TopK}|{MaxNewTokens}|{Seed}|{OnlyIdsEndingWith}|{Precision}";
}
