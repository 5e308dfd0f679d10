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
        await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: ct))
            groups = reader.RowGroupCount;
        for (int g = 0; g < groups; g++)
        {
            stream.Position = 0;
            var result = await ParquetSerializer.DeserializeAsync<T>(stream, rowGroupIndex: g, cancellationToken: ct);
            foreach (var row in result.Data) yield return row;
        }
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
