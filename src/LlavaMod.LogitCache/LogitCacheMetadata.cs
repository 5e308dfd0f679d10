using System.Text.Json.Serialization;
using LlavaMod.Core;

namespace LlavaMod.LogitCache;

/// <summary>What each cached token holds.</summary>
public enum LogitCacheScheme
{
    /// <summary>The teacher's k most likely ids with their log-probs, sorted descending, plus log(1 − Σ top-k p).</summary>
    TopKTail,
    /// <summary>
    /// Sparse Logit Sampling: k ids drawn from p_T with replacement (ids may repeat), each with
    /// log-weight log(1/k) and an empty tail (−∞). Σ_j (1/k)·f(id_j) is an unbiased estimate of
    /// E_{p_T}[f], so the mimic loss's gradient is an unbiased estimate of the full-vocabulary one,
    /// where top-k caching is biased. See <see cref="SparseLogitSampling"/>.
    /// </summary>
    SampledWithReplacement,
}

/// <summary>
/// A logit cache's file-level description, stored as JSON in the Parquet key-value metadata
/// under <see cref="MetadataKey"/>. Readers refuse caches whose vocabulary, k or fingerprints do
/// not match the run.
/// </summary>
/// <param name="K">Entries per token.</param>
/// <param name="VocabSize">Vocabulary size the ids index (151,936 for Qwen2 students).</param>
/// <param name="TeacherFingerprint">Identifies the teacher weights (e.g. sha256 of its safetensors).</param>
/// <param name="TokenizerFingerprint">Identifies the tokenizer and chat template the token positions come from.</param>
/// <param name="GapStep">Quantisation step s (nats) of log-prob gaps below the top-1 and of the tail log-mass; error ≤ s/2.</param>
/// <param name="Temperature">Teacher softmax temperature the log-probs were taken at.</param>
public sealed record LogitCacheMetadata(
    int K,
    int VocabSize,
    string TeacherFingerprint,
    string TokenizerFingerprint,
    LogitCacheScheme Scheme = LogitCacheScheme.TopKTail,
    double GapStep = LogitCacheMetadata.DefaultGapStep,
    double Temperature = 1.0,
    int RowGroupRows = LogitCacheMetadata.DefaultRowGroupRows)
{
    public const string MetadataKey = "llavamod.logit_cache";
    /// <summary>2: ids as byte planes of ranks in a row-group dictionary or of raw ids, tail as a grid code (1: bit-packed ids, float32 tail).</summary>
    public const int CurrentFormatVersion = 2;
    /// <summary>1/64 nat: every stored log-prob below the top-1 and the tail log-mass are within 1/128 nat (0.8 % relative probability) of the teacher's.</summary>
    public const double DefaultGapStep = 1.0 / 64;
    /// <summary>Rows (data rows, not tokens) per Parquet row group, DistillKit's 256.</summary>
    public const int DefaultRowGroupRows = 256;

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>How the log-probs are encoded, spelled out for other readers.</summary>
    public string LogProbEncoding { get; init; } =
        "ids: descending log-prob order, byte b of each id (or of its rank in the row group's dictionary) in column top_k_ids_byte{b}; "
        + "id_dictionary on a row group's first row: its distinct ids most frequent first, as byte planes one after the other, empty for none; top1: float32 LE; "
        + "others: n_i = round((top1 - lp_i) / gap_step), stored as LEB128 varints of n_i - n_(i-1); "
        + "tail: 0 for -inf else round(-tail / gap_step) + 1, LEB128 varint";

    /// <summary>Bytes per id (columns top_k_ids_byte0, …): the fewest that hold vocab_size − 1.</summary>
    [JsonIgnore] public int IdPlanes => IdBytePlanes.PlanesFor(VocabSize);

    /// <summary>The largest error of a decoded log-prob or tail log-mass (nats); the top-1 is exact float32.</summary>
    [JsonIgnore] public double MaxLogProbError => GapStep / 2;

    internal void Validate(string source)
    {
        string? problem =
            FormatVersion != CurrentFormatVersion ? $"format version {FormatVersion}{(FormatVersion < CurrentFormatVersion ? ", written by an older llavamod" : "")}; this build reads version {CurrentFormatVersion} only: rebuild the cache with 'llavamod teacher cache-logits'" :
            !Enum.IsDefined(Scheme) ? $"scheme {(int)Scheme}" :
            K <= 0 ? $"k = {K}" :
            VocabSize < 2 || K > VocabSize ? $"vocab size {VocabSize} with k = {K}" :
            !(GapStep > 0 && GapStep < 16) ? $"gap step {GapStep}" :
            RowGroupRows <= 0 ? $"row group rows {RowGroupRows}" : null;
        if (problem is not null) throw LlavaModException.ForFile(source, $"unsupported logit cache metadata: {problem}");
    }

    internal string ToJson() => Json.Serialize(this);

    internal static LogitCacheMetadata FromJson(string json, string source)
    {
        var m = Json.Deserialize<LogitCacheMetadata>(json, source);
        m.Validate(source);
        return m;
    }
}
