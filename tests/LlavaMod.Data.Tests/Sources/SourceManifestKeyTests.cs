using LlavaMod.Core;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Tests.Sources;

public class SourceManifestKeyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("manifest-keys-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("""{"name": "x", "image_root": ["img"], "inputs": [{"path": "a.json"}]}""", "unknown key 'image_root'; did you mean image_roots?")]
    [InlineData("""{"name": "x", "inputs": [{"path": "a.json", "expected_row": 3}]}""", "unknown key 'inputs[0].expected_row'; did you mean inputs[0].expected_rows?")]
    public void An_unknown_key_is_refused_naming_the_file_and_the_closest_key(string json, string expected)
    {
        string path = Path.Combine(_dir, "m.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<LlavaModException>(() => SourceManifest.Load(path));
        Assert.Equal($"{path}: {expected}", e.Message);
    }

    [Fact]
    public void The_shipped_manifest_reads()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlavaMod.Data.sln")))
            {
                Assert.Single(SourceManifest.Load(Path.Combine(dir.FullName, "manifests", "llava-instruct-665k.json")).Inputs);
                return;
            }
        Assert.Fail("repository root not found");
    }
}
