using System.Text.Json.Nodes;
using LlavaMod.Core;
using static TorchSharp.torch;

namespace LlavaMod.Models.IO;

/// <summary>
/// The safetensors weights of a Hugging Face model folder: model.safetensors, or shards listed
/// in model.safetensors.index.json ({"metadata": {"total_size"}, "weight_map": {name: file}}).
/// </summary>
public sealed class SafeTensorsFolder
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    readonly Dictionary<string, SafeTensorsFile> _fileOf = new();

    SafeTensorsFolder(string folder) { Folder = folder; }

    public string Folder { get; }
    public IReadOnlyCollection<string> Names => _fileOf.Keys;
    public bool Contains(string name) => _fileOf.ContainsKey(name);

    public static bool Exists(string folder) =>
        File.Exists(Path.Combine(folder, SingleFile)) || File.Exists(Path.Combine(folder, IndexFile));

    public static SafeTensorsFolder Open(string folder)
    {
        var result = new SafeTensorsFolder(folder);
        string index = Path.Combine(folder, IndexFile);
        string single = Path.Combine(folder, SingleFile);
        if (File.Exists(index))
        {
            var map = Qwen2Config.ReadObject(index)["weight_map"]?.AsObject()
                ?? throw LlavaModException.ForFile(index, "missing weight_map");
            var files = new Dictionary<string, SafeTensorsFile>();
            foreach (var (name, fileNode) in map)
            {
                string file = fileNode!.GetValue<string>();
                if (file.Contains('/') || file.Contains('\\')) throw LlavaModException.ForFile(index, $"weight_map entry '{name}' names a file outside the folder: {file}");
                if (!files.TryGetValue(file, out var shard)) files[file] = shard = SafeTensorsFile.Open(Path.Combine(folder, file));
                if (!shard.Entries.ContainsKey(name)) throw LlavaModException.ForFile(shard.Path, $"index {IndexFile} maps '{name}' here, but the file has no such tensor");
                result._fileOf[name] = shard;
            }
        }
        else if (File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            foreach (var name in file.Entries.Keys) result._fileOf[name] = file;
        }
        else
        {
            throw LlavaModException.ForFile(folder, $"no {SingleFile} or {IndexFile} in this folder (only safetensors weights are read)");
        }
        return result;
    }

    /// <summary>Views one safetensors file (any name) as a folder of weights.</summary>
    public static SafeTensorsFolder OpenFile(string file)
    {
        var result = new SafeTensorsFolder(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var opened = SafeTensorsFile.Open(file);
        foreach (var name in opened.Entries.Keys) result._fileOf[name] = opened;
        return result;
    }

    public long[] ShapeOf(string name) => _fileOf[name].Entries[name].Shape;
    public string FileOf(string name) => _fileOf[name].Path;

    public Tensor Read(string name) =>
        _fileOf.TryGetValue(name, out var file) ? file.Read(name) : throw LlavaModException.ForFile(Folder, $"missing tensor '{name}'");

    /// <summary>Writes tensors as one file, or as shards of at most <paramref name="maxShardBytes"/> plus the index.</summary>
    public static void Write(string folder, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, long maxShardBytes = 2L << 30, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(folder);
        long total = tensors.Sum(t => t.Value.NumberOfElements * t.Value.ElementSize);
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long current = 0;
        foreach (var t in tensors)
        {
            long size = t.Value.NumberOfElements * t.Value.ElementSize;
            if (current > 0 && current + size > maxShardBytes) { shards.Add(new()); current = 0; }
            shards[^1].Add(t);
            current += size;
        }
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = "pt" };
        foreach (var stale in Directory.EnumerateFiles(folder, "model*.safetensors")) File.Delete(stale);
        string indexPath = Path.Combine(folder, IndexFile);
        if (File.Exists(indexPath)) File.Delete(indexPath);
        if (shards.Count == 1)
        {
            SafeTensorsFile.Write(Path.Combine(folder, SingleFile), shards[0], meta);
            return;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensorsFile.Write(Path.Combine(folder, file), shards[i], meta);
            foreach (var (name, _) in shards[i]) weightMap[name] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        AtomicFile.WriteAllText(indexPath, index.ToJsonString(Json.Options) + "\n");
    }
}
