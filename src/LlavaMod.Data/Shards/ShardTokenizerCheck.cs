using LlavaMod.Core;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Shards;

/// <summary>
/// The one check every verb that feeds shards to a model makes before it loads weights: the shards'
/// token ids mean something only under the tokenizer that wrote them, so data tokenized with another
/// tokenizer than the model's is refused (two swapped ids would otherwise train or sample in silence).
/// A model folder without tokenizer files cannot be checked and passes.
/// </summary>
public static class ShardTokenizerCheck
{
    /// <param name="role">How the message names the model: "teacher", "model", "online teacher".</param>
    public static void Require(string dataDir, DatasetManifest data, string modelDir, string role = "model") =>
        Require([(dataDir, data)], modelDir, role);

    /// <summary>Checks each dataset folder (its dataset.json) against the model.</summary>
    public static void Require(IEnumerable<string> dataDirs, string modelDir, string role = "model") =>
        Require(dataDirs.Select(d => (d, DatasetManifest.Load(d))), modelDir, role);

    static void Require(IEnumerable<(string Dir, DatasetManifest Data)> datasets, string modelDir, string role)
    {
        if (!HasTokenizer(modelDir)) return;
        string? model = null;
        foreach (var (dir, data) in datasets)
        {
            if (data.TokenizerFingerprint.Length == 0) continue;
            model ??= QwenTokenizer.Load(modelDir).Fingerprint;
            if (model != data.TokenizerFingerprint)
                throw LlavaModException.ForFile(dir,
                    $"was tokenized with another tokenizer than the {role}'s ({modelDir}); re-shard the data with the {role}'s tokenizer (llavamod shard --tokenizer {modelDir})");
        }
    }

    static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, TokenizerFiles.TokenizerJson))
        || (File.Exists(Path.Combine(dir, TokenizerFiles.VocabJson)) && File.Exists(Path.Combine(dir, TokenizerFiles.MergesTxt)));
}
