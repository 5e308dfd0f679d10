using LlavaMod.Core;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Shards;

/// <summary>
/// The one check every verb that feeds shards to a model makes before it loads weights:
/// the shards' token ids mean something only under the tokenizer that wrote them, so data tokenized
/// with another tokenizer than the model's is refused (two swapped ids would otherwise train or
/// sample in silence; a model folder without tokenizer files cannot be checked and passes); and every
/// shard must still have the size dataset.json records (a stat per file, so always done). The sha256
/// of every shard, which costs a full read, is checked on request (<see cref="RequireHashes"/>, --check-shards).
/// </summary>
public static class ShardsBeforeUse
{
    /// <param name="role">How the message names the model: "teacher", "model", "online teacher".</param>
    public static void Require(string dataDir, DatasetManifest data, string modelDir, string role = "model") =>
        Require([(dataDir, data)], modelDir, role);

    /// <summary>Checks each dataset folder (its dataset.json) against the model.</summary>
    public static void Require(IEnumerable<string> dataDirs, string modelDir, string role = "model") =>
        Require(dataDirs.Select(d => (d, DatasetManifest.Load(d))), modelDir, role);

    static void Require(IEnumerable<(string Dir, DatasetManifest Data)> datasets, string modelDir, string role)
    {
        bool checkTokenizer = HasTokenizer(modelDir);
        string? model = null;
        foreach (var (dir, data) in datasets)
        {
            foreach (var shard in data.Shards)
            {
                var file = new FileInfo(Path.Combine(dir, shard.File));
                if (!file.Exists || file.Length != shard.Bytes)
                    throw LlavaModException.ForFile(file.FullName, (file.Exists ? $"is {file.Length:N0} bytes, {DatasetManifest.FileName} records {shard.Bytes:N0}" : "is missing")
                        + $": the shard changed after it was written; run 'llavamod verify {dir}'");
            }
            if (!checkTokenizer || data.TokenizerFingerprint.Length == 0) continue;
            model ??= QwenTokenizer.Load(modelDir).Fingerprint;
            if (model != data.TokenizerFingerprint)
                throw LlavaModException.ForFile(dir,
                    $"was tokenized with another tokenizer than the {role}'s ({modelDir}); re-shard the data with the {role}'s tokenizer (llavamod shard --tokenizer {modelDir})");
        }
    }

    /// <summary>Every shard's sha256 against dataset.json (reads every byte once): --check-shards.</summary>
    public static void RequireHashes(IEnumerable<string> dataDirs)
    {
        foreach (var dir in dataDirs)
            foreach (var shard in DatasetManifest.Load(dir).Shards)
            {
                string path = Path.Combine(dir, shard.File);
                if (!File.Exists(path)) throw LlavaModException.ForFile(path, $"is missing; run 'llavamod verify {dir}'");
                string sha = Hashing.Sha256OfFile(path);
                if (!string.Equals(sha, shard.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw LlavaModException.ForFile(path, $"sha256 is {sha}, {DatasetManifest.FileName} records {shard.Sha256}: the shard changed after it was written; run 'llavamod verify {dir} --deep'");
            }
    }

    /// <summary>The fingerprint of the tokenizer in a model folder, or null when the folder has none.</summary>
    public static string? TokenizerFingerprint(string modelDir) => HasTokenizer(modelDir) ? QwenTokenizer.Load(modelDir).Fingerprint : null;

    static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, TokenizerFiles.TokenizerJson))
        || (File.Exists(Path.Combine(dir, TokenizerFiles.VocabJson)) && File.Exists(Path.Combine(dir, TokenizerFiles.MergesTxt)));
}
