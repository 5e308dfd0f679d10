using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Etl;

/// <summary>One rejected input row, as rejects.jsonl lists it.</summary>
public sealed record RejectRecord(string Source, long SourceRow, string? Id, string Reason, string Message);

/// <summary>
/// The journal entry of one finished source block: written (atomically) right after its shard is
/// renamed into place, so a run killed at any moment resumes from the blocks whose entry exists and
/// whose shard files still have the recorded sha256. Shards is empty when every row of the block was
/// rejected, and has several files when --shard-bytes split the block.
/// </summary>
public sealed record BlockRecord(
    long Block, long FirstSourceRow, long SourceRows, IReadOnlyList<WrittenShard> Shards,
    DatasetStatistics Statistics, IReadOnlyList<RejectRecord> Rejects);

/// <summary>The _progress folder of an output directory: the run settings and one entry per finished block.</summary>
public sealed class BlockJournal
{
    public const string FolderName = "_progress";
    readonly string _folder;

    public BlockJournal(string outputDir) { _folder = Path.Combine(outputDir, FolderName); }

    public bool Exists => Directory.Exists(_folder);
    public string SettingsPath => Path.Combine(_folder, "settings.json");

    public static string BlockFileName(long block) => $"{block:D5}.json";

    public void Write(BlockRecord record) =>
        Json.WriteFileAtomic(Path.Combine(_folder, BlockFileName(record.Block)), record);

    /// <summary>
    /// The de-duplication keys of a block's stored rows, in row order (16 bytes each), so a resumed
    /// run or a merge knows the rows without reading the shards. Written before the block's entry.
    /// </summary>
    public void WriteKeys(long block, IReadOnlyList<UInt128> keys)
    {
        var bytes = new byte[keys.Count * 16];
        for (int i = 0; i < keys.Count; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes.AsSpan(i * 16), keys[i]);
        AtomicFile.WriteAllBytes(KeysPath(block), bytes);
    }

    /// <summary>The keys written by <see cref="WriteKeys"/>, or null when the file is missing or does not fit <paramref name="rows"/>.</summary>
    public UInt128[]? TryReadKeys(long block, long rows)
    {
        string path = KeysPath(block);
        if (!File.Exists(path) || new FileInfo(path).Length != rows * 16) return null;
        var bytes = File.ReadAllBytes(path);
        var keys = new UInt128[rows];
        for (int i = 0; i < keys.Length; i++)
            keys[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(bytes.AsSpan(i * 16));
        return keys;
    }

    string KeysPath(long block) => Path.Combine(_folder, $"{block:D5}.keys");

    public BlockRecord? TryRead(long block)
    {
        string path = Path.Combine(_folder, BlockFileName(block));
        return File.Exists(path) ? Json.ReadFile<BlockRecord>(path) : null;
    }

    public IEnumerable<BlockRecord> ReadAll()
    {
        if (!Exists) yield break;
        foreach (var file in Directory.EnumerateFiles(_folder, "?????*.json").Order(StringComparer.Ordinal))
            if (long.TryParse(Path.GetFileNameWithoutExtension(file), out _))
                yield return Json.ReadFile<BlockRecord>(file);
    }

    /// <summary>
    /// The finished blocks whose shard is intact (same sha256 as journaled). Entries whose shard is
    /// missing or changed are dropped, so those blocks are produced again.
    /// </summary>
    public Dictionary<long, BlockRecord> ReadIntact(string outputDir, Action<string>? warn = null)
    {
        var intact = new Dictionary<long, BlockRecord>();
        foreach (var record in ReadAll())
        {
            var broken = record.Shards.FirstOrDefault(shard =>
            {
                string path = Path.Combine(outputDir, shard.File);
                return !File.Exists(path) || new FileInfo(path).Length != shard.Bytes || Hashing.Sha256OfFile(path) != shard.Sha256;
            });
            if (broken is not null)
            {
                warn?.Invoke($"{broken.File}: does not match its journal entry; block {record.Block} is produced again");
                continue;
            }
            intact[record.Block] = record;
        }
        return intact;
    }
}
