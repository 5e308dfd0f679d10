using System.Text.Json;
using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Etl;

/// <summary>
/// Every setting that changes a run's output. Saved in _progress/settings.json: a resumed run and
/// every worker of a split job must have the same settings, or their shards would not fit together.
/// </summary>
public sealed record ShardSettings(
    string ToolVersion, ShardKind Kind, string TokenizerFingerprint, string Template, string EncoderFingerprint,
    string ImageSettingsFingerprint, long BlockRows, int RowGroupRows, long? RowGroupBytes, long? MaxShardBytes, string Compression, int KeyIndexDigits,
    bool KeepDuplicates, string CaptionPrompt, IReadOnlyList<InputFingerprint> Inputs)
{
    public string ComputeFingerprint() => Hashing.Sha256Hex(JsonSerializer.Serialize(this, Json.Compact));

    /// <summary>The names of the settings that differ from <paramref name="other"/>.</summary>
    public IEnumerable<string> Differences(ShardSettings other)
    {
        var a = JsonSerializer.SerializeToElement(this, Json.Compact);
        var b = JsonSerializer.SerializeToElement(other, Json.Compact);
        foreach (var p in a.EnumerateObject())
            if (!b.TryGetProperty(p.Name, out var q) || q.GetRawText() != p.Value.GetRawText()) yield return p.Name;
    }

    public DatasetManifest ToManifest(long sourceRows, IReadOnlyList<InputFingerprint> inputs, IEnumerable<BlockRecord> blocks, int? worker, int? workers)
    {
        var stats = new DatasetStatistics();
        var shards = new List<ShardEntry>();
        foreach (var b in blocks.OrderBy(b => b.Block))
        {
            stats.Add(b.Statistics);
            foreach (var s in b.Shards) shards.Add(new ShardEntry(s.File, b.Block, b.FirstSourceRow, b.SourceRows, s.Rows, s.Bytes, s.Sha256));
        }
        return new DatasetManifest
        {
            Kind = Kind, TokenizerFingerprint = TokenizerFingerprint, Template = Template, EncoderFingerprint = EncoderFingerprint,
            ImageSettingsFingerprint = ImageSettingsFingerprint, SettingsFingerprint = ComputeFingerprint(), BlockRows = BlockRows,
            RowGroupRows = RowGroupRows, RowGroupBytes = RowGroupBytes, MaxShardBytes = MaxShardBytes, KeyIndexDigits = KeyIndexDigits, KeepDuplicates = KeepDuplicates,
            SourceRows = sourceRows, Worker = worker, Workers = workers, Inputs = inputs, Shards = shards, Statistics = stats,
        };
    }

    /// <summary>rejects.jsonl: every rejected row, in source order.</summary>
    public static void WriteRejects(string dir, IEnumerable<BlockRecord> blocks, string fileName = "rejects.jsonl") =>
        AtomicFile.Write(Path.Combine(dir, fileName), stream =>
        {
            using var w = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            foreach (var b in blocks.OrderBy(b => b.Block))
                foreach (var r in b.Rejects) w.WriteLine(JsonSerializer.Serialize(r, Json.Compact));
        });
}
