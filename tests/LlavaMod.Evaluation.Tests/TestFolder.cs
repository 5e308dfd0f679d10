using System.Text.Json.Nodes;

namespace LlavaMod.Evaluation.Tests;

/// <summary>A temporary folder the tests write benchmark files into, in the benchmarks' real formats.</summary>
public sealed class TestFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("llavamod-evaluation-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string WriteLines(string name, params object[] lines)
    {
        string path = File(name);
        System.IO.File.WriteAllLines(path, lines.Select(l => l is string s ? s : System.Text.Json.JsonSerializer.Serialize(l)));
        return path;
    }

    public string Write(string name, JsonNode node)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, node.ToJsonString());
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
