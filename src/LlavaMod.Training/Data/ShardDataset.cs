using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Training.Data;

/// <summary>
/// The supervised shards of one or more dataset folders, seen as one list of shards. Planning an
/// epoch needs only each row's token count, read from the "num_tokens" column alone (no image
/// bytes are read); rows are loaded a whole shard at a time when a batch needs them.
/// </summary>
public sealed class ShardDataset
{
    public IReadOnlyList<string> ShardPaths { get; }
    public IReadOnlyList<int[]> TokenLengths { get; }
    public string TokenizerFingerprint { get; }
    public long Rows => TokenLengths.Sum(l => (long)l.Length);

    ShardDataset(IReadOnlyList<string> paths, IReadOnlyList<int[]> lengths, string tokenizer)
    {
        ShardPaths = paths;
        TokenLengths = lengths;
        TokenizerFingerprint = tokenizer;
    }

    public static ShardDataset Open(IReadOnlyList<string> datasetDirs)
    {
        var paths = new List<string>();
        string? tokenizer = null;
        foreach (var dir in datasetDirs)
        {
            var manifest = DatasetManifest.Load(dir);
            if (manifest.Kind != ShardKind.Sft)
                throw LlavaModException.ForFile(dir, $"holds {manifest.Kind} rows; training stages other than pd read supervised (sft) shards");
            if (tokenizer is not null && tokenizer != manifest.TokenizerFingerprint)
                throw LlavaModException.ForFile(dir, "was tokenized with another tokenizer than the other dataset folders");
            tokenizer = manifest.TokenizerFingerprint;
            paths.AddRange(manifest.Shards.Select(s => Path.Combine(dir, s.File)));
        }
        if (paths.Count == 0) throw new LlavaModException($"no shards in {string.Join(", ", datasetDirs)}");
        var lengths = paths.Select(p => ShardReader.ReadTokenCountsAsync(p).GetAwaiter().GetResult()).ToList();
        return new ShardDataset(paths, lengths, tokenizer ?? "");
    }

    public IReadOnlyList<ShardRow> LoadShard(int index) =>
        ShardReader.ReadRows(ShardPaths[index]).ToBlockingEnumerable().ToList();
}
