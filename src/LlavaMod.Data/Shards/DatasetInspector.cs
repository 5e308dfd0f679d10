using System.Text.Json;
using LlavaMod.Core;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Shards;

/// <summary>Looks inside a dataset: the first rows, or one row by key.</summary>
public static class DatasetInspector
{
    /// <summary>The first <paramref name="count"/> rows (either kind) in key order.</summary>
    public static async Task<IReadOnlyList<ShardRowBase>> FirstRowsAsync(string dir, int count, CancellationToken ct = default)
    {
        var manifest = DatasetManifest.Load(dir);
        var rows = new List<ShardRowBase>();
        foreach (var shard in manifest.Shards)
        {
            await foreach (var row in Read(manifest.Kind, Path.Combine(dir, shard.File), ct))
            {
                if (rows.Count >= count) return rows;
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>The row with <paramref name="key"/>; its shard is found from the key's block number.</summary>
    public static async Task<ShardRowBase> FindAsync(string dir, string key, CancellationToken ct = default)
    {
        var manifest = DatasetManifest.Load(dir);
        if (key.Length != 5 + manifest.KeyIndexDigits || !long.TryParse(key[..5], out long block))
            throw new LlavaModException($"key '{key}' is not a key of this dataset (5-digit shard + {manifest.KeyIndexDigits}-digit index)");
        var shards = manifest.Shards.Where(s => s.Block == block).ToList();
        if (shards.Count == 0)
            throw new LlavaModException($"{dir}: no shard for block {block} (all its rows were rejected, or the key is out of range)");
        foreach (var shard in shards)
            await foreach (var row in Read(manifest.Kind, Path.Combine(dir, shard.File), ct))
                if (row.Key == key) return row;
        throw new LlavaModException($"{shards[0].File}: no row with key {key} (that source row was rejected or a duplicate; see rejects.jsonl)");
    }

    /// <summary>The conversation turns a row stores (preference rows: the prompt turns then the chosen answer).</summary>
    public static IReadOnlyList<SourceTurn> Turns(ShardRowBase row)
    {
        if (row is PreferenceShardRow p)
        {
            using var doc = JsonDocument.Parse(p.Conversation);
            var prompt = doc.RootElement.GetProperty("prompt").Deserialize<List<SourceTurn>>(Json.Compact)!;
            return [.. prompt, new SourceTurn(SourceTurn.Assistant, p.Chosen)];
        }
        return JsonSerializer.Deserialize<List<SourceTurn>>(row.Conversation, Json.Compact)!;
    }

    static async IAsyncEnumerable<ShardRowBase> Read(ShardKind kind, string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (kind == ShardKind.Sft) await foreach (var r in ShardReader.ReadRows(path, ct)) yield return r;
        else await foreach (var r in ShardReader.ReadPreferenceRows(path, ct)) yield return r;
    }
}
