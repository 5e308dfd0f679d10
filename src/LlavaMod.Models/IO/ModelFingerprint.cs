using LlavaMod.Core;

namespace LlavaMod.Models.IO;

/// <summary>The identity of a model folder's weights, recorded with every cache, sample and pair, and in every training
/// checkpoint (the model the run started from: a resume from a rewritten one is refused).</summary>
public static class ModelFingerprint
{
    /// <summary>sha256 over the folder's config and safetensors files (by name and content).</summary>
    public static string OfWeights(string folder)
    {
        var files = Directory.EnumerateFiles(folder, "*.safetensors").Append(Path.Combine(folder, "config.json"))
            .Where(File.Exists).OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw LlavaModException.ForFile(folder, "holds no config.json or *.safetensors: not a model folder");
        return Hashing.Sha256OfFiles(files);
    }
}
