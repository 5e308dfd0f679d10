using LlavaMod.Cli;
using LlavaMod.Data.Text;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>
/// A small demo corpus, its shards and a tiny teacher with a vocabulary subset, made once per test
/// class through the real llavamod verbs (the same path the demo pipeline takes).
/// </summary>
public sealed class DemoWorkspace : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("llavamod-e2e-").FullName;
    public string Raw => Path.Combine(Root, "raw");
    public string TrainShards => Path.Combine(Root, "shards", "train");
    public string MineShards => Path.Combine(Root, "shards", "mine");
    public string Teacher => Path.Combine(Root, "teacher-init");
    public string TokenizerFolder => Path.GetDirectoryName(QwenTokenizer.BundledPath)!;

    public DemoWorkspace()
    {
        Llavamod("demo-data", "--out", Raw, "--train", "12", "--val", "0", "--test", "0", "--mine", "8", "--seed", "5");
        Llavamod("shard", "--input", Path.Combine(Raw, "train", "conversations.json"), "--image-root", Path.Combine(Raw, "train"),
            "--tokenizer", QwenTokenizer.BundledPath, "--template", "qwen", "--out", TrainShards, "--threads", "1");
        Llavamod("shard", "--input", Path.Combine(Raw, "mine", "conversations.json"), "--image-root", Path.Combine(Raw, "mine"),
            "--template", "qwen", "--out", MineShards, "--threads", "1");
        Llavamod("model", "init", "--preset", "demo-teacher", "--out", Teacher, "--seed", "1", "--tokenizer", TokenizerFolder,
            "--vocab-subset-from", TrainShards, "--vocab-subset-from", MineShards);
    }

    /// <summary>
    /// A copy of the teacher in <paramref name="dir"/> whose tokenizer.json has the ids of "a" and "b" swapped: the
    /// same vocabulary size, another tokenizer. <paramref name="withWeights"/> false leaves the safetensors out, so only a
    /// check made before loading weights can pass it.
    /// </summary>
    public string TeacherWithSwappedTokenizer(string dir, bool withWeights)
    {
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.EnumerateFiles(Teacher).Where(f => withWeights || !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        string path = Path.Combine(dir, "tokenizer.json");
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        var vocab = root["model"]!["vocab"]!.AsObject();
        (int a, int b) = (vocab["a"]!.GetValue<int>(), vocab["b"]!.GetValue<int>());
        (vocab["a"], vocab["b"]) = (b, a);
        File.WriteAllText(path, root.ToJsonString());
        return dir;
    }

    public static void Llavamod(params string[] args)
    {
        int code = CommandCatalog.CreateRoot().Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.True(code == 0, $"llavamod {string.Join(' ', args)} exited with {code}");
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
