using Parquet.Schema;

namespace LlavaMod.LogitCache;

/// <summary>
/// The Parquet columns of a logit cache (format 2): one Parquet row per data row, flat columns only,
/// so any Parquet reader lists them. Per-token arrays are byte strings, token-major:
/// <c>top_k_ids_byte{b}</c> = byte b of each of the token_count·k ids in descending-probability
/// order (see <see cref="IdBytePlanes"/>); <c>top1_logprob</c> = token_count float32 LE;
/// <c>logprob_gaps</c> and <c>tail_log_mass_code</c> = varint codes (see <see cref="LogProbGapCodec"/>).
/// </summary>
internal static class LogitCacheSchema
{
    public static readonly DataField<string> Key = new("key");
    public static readonly DataField<int> TokenCount = new("token_count");
    public static readonly DataField<byte[]> Dictionary = new("id_dictionary");
    public static readonly DataField<byte[]> Top1 = new("top1_logprob");
    public static readonly DataField<byte[]> Gaps = new("logprob_gaps");
    public static readonly DataField<byte[]> Tail = new("tail_log_mass_code");

    static readonly DataField<byte[]>[] IdPlaneFields = Enumerable.Range(0, 4).Select(b => new DataField<byte[]>($"top_k_ids_byte{b}")).ToArray();

    public static DataField<byte[]> IdPlane(int b) => IdPlaneFields[b];

    public static ParquetSchema Schema(int idPlanes) =>
        new(new Field[] { Key, TokenCount, Dictionary }.Concat(IdPlaneFields[..idPlanes]).Concat(new Field[] { Top1, Gaps, Tail }).ToArray());
}
