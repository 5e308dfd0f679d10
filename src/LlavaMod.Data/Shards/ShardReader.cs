using System.Runtime.CompilerServices;
using LlavaMod.Core;
using Parquet;
using Parquet.Serialization;

namespace LlavaMod.Data.Shards;

/// <summary>Reads shard files back as typed rows, one row group at a time.</summary>
public static class ShardReader
{
    /// <summary>Supervised rows of one shard, in file order.</summary>
    public static IAsyncEnumerable<ShardRow> ReadRows(string shardPath, CancellationToken ct = default) =>
        ReadRows<ShardRow>(shardPath, ct);

    /// <summary>Preference rows of one shard, in file order.</summary>
    public static IAsyncEnumerable<PreferenceShardRow> ReadPreferenceRows(string shardPath, CancellationToken ct = default) =>
        ReadRows<PreferenceShardRow>(shardPath, ct);

    public static async IAsyncEnumerable<T> ReadRows<T>(string shardPath, [EnumeratorCancellation] CancellationToken ct = default)
        where T : class, new()
    {
        await using var stream = OpenRead(shardPath);
        int groups;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: ct);
            groups = reader.RowGroupCount;
        }
        catch (Exception e) when (IsDecodingError(e)) { throw Corrupt(shardPath, "footer", e); }
        for (int g = 0; g < groups; g++)
        {
            stream.Position = 0;
            IList<T> rows;
            try { rows = (await ParquetSerializer.DeserializeAsync<T>(stream, rowGroupIndex: g, cancellationToken: ct)).Data; }
            catch (Exception e) when (IsDecodingError(e))
            {
                throw Corrupt(shardPath, $"row group {g}, column {await FailingColumnAsync(stream, g, ct) ?? "(undetermined)"}", e);
            }
            foreach (var row in rows) yield return row;
        }
    }

    /// <summary>
    /// The error a reader gives for a shard it cannot decode: the shard, where in it, and what to run.
    /// The Parquet/zstd exception (e.g. "Data corruption detected") stays the inner exception.
    /// </summary>
    public static LlavaModException Corrupt(string shardPath, string where, Exception e) =>
        LlavaModException.ForFile(shardPath,
            $"{where}: cannot be decoded ({e.GetType().Name}: {FirstLine(e.Message)}); the shard is damaged: run 'llavamod verify {Path.GetDirectoryName(Path.GetFullPath(shardPath))} --deep', then rebuild it with 'llavamod shard --resume'", e);

    static bool IsDecodingError(Exception e) =>
        e is not (LlavaModException or OperationCanceledException or FileNotFoundException or UnauthorizedAccessException or OutOfMemoryException);

    static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>Reads the row group column by column to name the first one that does not decode (only after a failure).</summary>
    static async Task<string?> FailingColumnAsync(Stream stream, int rowGroup, CancellationToken ct)
    {
        try
        {
            stream.Position = 0;
            await using var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: ct);
            using var rg = reader.OpenRowGroupReader(rowGroup);
            foreach (var field in reader.Schema.GetDataFields())
            {
                try { (await rg.ReadRawColumnDataBaseAsync(field, ct) as IDisposable)?.Dispose(); }
                catch (Exception e) when (IsDecodingError(e)) { return field.Path.ToString(); }
            }
        }
        catch (Exception e) when (IsDecodingError(e)) { }
        return null;
    }

    /// <summary>
    /// The num_tokens column of a shard, in row order, without reading images or ids
    /// (Parquet reads only the columns asked for): what an epoch planner needs.
    /// </summary>
    public static async Task<int[]> ReadTokenCountsAsync(string shardPath, CancellationToken ct = default)
    {
        var counts = new List<int>();
        await foreach (var row in ReadRows<TokenCountRow>(shardPath, ct)) counts.Add(row.NumTokens);
        return counts.ToArray();
    }

    sealed class TokenCountRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("num_tokens")] public int NumTokens { get; set; }
    }

    /// <summary>Row count and key-value metadata from the footer alone.</summary>
    public static async Task<(long Rows, IReadOnlyDictionary<string, string> Metadata, string[] Columns)> ReadFooterAsync(string shardPath, CancellationToken ct = default)
    {
        await using var stream = OpenRead(shardPath);
        await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct);
        long rows = 0;
        for (int g = 0; g < reader.RowGroupCount; g++) rows += reader.OpenRowGroupReader(g).RowCount;
        return (rows, reader.CustomMetadata, reader.Schema.Fields.Select(f => f.Name).ToArray());
    }

    internal static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "shard file not found");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }
}
