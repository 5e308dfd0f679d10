using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Models;

/// <summary>
/// Builds a <see cref="VocabSubset"/> from the token ids a corpus actually uses (every id in the
/// shards' input_ids, the image placeholder excluded) plus ids that must stay reachable (the end
/// token that stops generation). For small-domain runs such as the demo; real runs keep the full
/// vocabulary.
/// </summary>
public static class VocabSubsetBuilder
{
    public static VocabSubset FromDatasets(IEnumerable<string> datasetDirs, IEnumerable<int> alwaysInclude)
    {
        var ids = new SortedSet<int>(alwaysInclude);
        foreach (var dir in datasetDirs)
        {
            var manifest = DatasetManifest.Load(dir);
            foreach (var shard in manifest.Shards)
            {
                string path = Path.Combine(dir, shard.File);
                if (manifest.Kind == ShardKind.Sft)
                    foreach (var row in ShardReader.ReadRows(path).ToBlockingEnumerable())
                        AddIds(ids, row.InputIds);
                else
                    foreach (var row in ShardReader.ReadPreferenceRows(path).ToBlockingEnumerable())
                    {
                        AddIds(ids, row.PromptIds);
                        AddIds(ids, row.ChosenIds);
                        AddIds(ids, row.RejectedIds);
                    }
            }
        }
        if (ids.Count == 0) throw new LlavaModException($"no token ids in {string.Join(", ", datasetDirs)}");
        return new VocabSubset(ids);
    }

    static void AddIds(SortedSet<int> ids, int[] row)
    {
        foreach (int id in row)
            if (id >= 0) ids.Add(id);
    }
}
