using Parquet.Schema;

namespace LlavaMod.Teacher.LogitCache;

/// <summary>
/// The Parquet columns of a logit cache: one Parquet row per data row, flat columns only, so any
/// Parquet reader lists them. Per-token arrays are little-endian byte strings:
/// <c>top_k_ids</c> = token_count·k ids bit-packed (token-major), <c>top1_logprob</c> and
/// <c>tail_log_mass</c> = token_count float32 each, <c>logprob_gaps</c> = the varint gap codes of
/// every token in turn (see <see cref="LogProbGapCodec"/>).
/// </summary>
internal static class LogitCacheSchema
{
    public static readonly DataField<string> Key = new("key");
    public static readonly DataField<int> TokenCount = new("token_count");
    public static readonly DataField<byte[]> Ids = new("top_k_ids");
    public static readonly DataField<byte[]> Top1 = new("top1_logprob");
    public static readonly DataField<byte[]> Gaps = new("logprob_gaps");
    public static readonly DataField<byte[]> Tail = new("tail_log_mass");

    public static ParquetSchema Schema => new(Key, TokenCount, Ids, Top1, Gaps, Tail);
}
