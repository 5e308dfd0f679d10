using LlavaMod.Core;

namespace LlavaMod.Teacher.Passes;

/// <summary>The identity of a model folder's weights, recorded with every cache and pair.</summary>
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
