using LlavaMod.Core;

namespace LlavaMod.Data.Shards;

/// <summary>
/// The token ids a corpus actually uses: every id in the shards' input_ids (prompt, chosen and
/// rejected ids for preference shards), the image placeholder excluded. A model's vocabulary
/// subset is built from them for small-domain runs such as the demo; real runs keep the full
/// vocabulary.
/// </summary>
public static class DatasetTokenIds
{
    public static SortedSet<int> Collect(IEnumerable<string> datasetDirs)
    {
        var ids = new SortedSet<int>();
        foreach (var dir in datasetDirs)
        {
            var manifest = DatasetManifest.Load(dir);
            foreach (var shard in manifest.Shards)
            {
                string path = Path.Combine(dir, shard.File);
                if (manifest.Kind == ShardKind.Sft)
                    foreach (var row in ShardReader.ReadRows(path).ToBlockingEnumerable())
                        Add(ids, row.InputIds);
                else
                    foreach (var row in ShardReader.ReadPreferenceRows(path).ToBlockingEnumerable())
                    {
                        Add(ids, row.PromptIds);
                        Add(ids, row.ChosenIds);
                        Add(ids, row.RejectedIds);
                    }
            }
        }
        if (ids.Count == 0) throw new LlavaModException($"no token ids in {string.Join(", ", datasetDirs)}");
        return ids;
    }

    static void Add(SortedSet<int> ids, int[] row)
    {
        foreach (int id in row)
            if (id >= 0) ids.Add(id);
    }
}
