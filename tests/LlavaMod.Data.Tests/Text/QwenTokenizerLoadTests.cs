using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Text;

/// <summary>The other file layouts give the same tokenizer; bad files give errors naming them.</summary>
public sealed class QwenTokenizerLoadTests(TokenizerFixture fx) : IClassFixture<TokenizerFixture>, IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static JsonObject BundledJson() => JsonNode.Parse(File.ReadAllText(QwenTokenizer.BundledPath))!.AsObject();

    void AssertSameIds(QwenTokenizer other)
    {
        Assert.Equal(fx.Ours.VocabularySize, other.VocabularySize);
        Assert.Equal(fx.Ours.EndOfTextId, other.EndOfTextId);
        foreach (string line in TokenizerCorpus.Lines(generated: 150, seed: 3))
            Assert.Equal(fx.ReferenceIds(line), other.Encode(line));
    }

    [Fact]
    public void Vocab_json_and_merges_txt_folder_gives_the_same_ids()
    {
        var json = BundledJson();
        var model = json["model"]!.AsObject();
        File.WriteAllText(Path.Combine(_dir, "vocab.json"), model["vocab"]!.ToJsonString());
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m!.GetValue<string>());
        File.WriteAllLines(Path.Combine(_dir, "merges.txt"), ["#version: 0.2", .. merges]);
        File.Copy(Path.Combine(Path.GetDirectoryName(QwenTokenizer.BundledPath)!, "tokenizer_config.json"), Path.Combine(_dir, "tokenizer_config.json"));

        var loaded = QwenTokenizer.Load(_dir);
        AssertSameIds(loaded);
        Assert.NotEqual(fx.Ours.Fingerprint, loaded.Fingerprint);   // other files, other fingerprint
    }

    [Fact]
    public void Old_style_string_merges_in_tokenizer_json_give_the_same_ids()
    {
        var json = BundledJson();
        var model = json["model"]!.AsObject();
        var strings = new JsonArray(model["merges"]!.AsArray().Select(m => (JsonNode?)JsonValue.Create($"{m![0]} {m[1]}")).ToArray());
        model["merges"] = strings;
        string file = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(file, json.ToJsonString());
        AssertSameIds(QwenTokenizer.Load(file));
    }

    [Fact]
    public void Non_json_file_is_an_error_naming_it()
    {
        string file = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllBytes(file, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        var e = Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(file));
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void Json_that_is_not_a_tokenizer_is_an_error_naming_it()
    {
        string file = Path.Combine(_dir, "config.json");
        File.WriteAllText(file, "{\"architectures\": [\"Qwen2ForCausalLM\"]}");
        var e = Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(file));
        Assert.Contains(file, e.Message);
        Assert.Contains("model", e.Message);
    }

    [Fact]
    public void Wordpiece_tokenizer_is_refused()
    {
        string file = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(file, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
        var e = Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(file));
        Assert.Contains(file, e.Message);
        Assert.Contains("WordPiece", e.Message);
    }

    [Fact]
    public void Bad_merges_line_is_an_error_naming_file_and_row()
    {
        File.WriteAllText(Path.Combine(_dir, "vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|endoftext|>\": 3}");
        File.WriteAllLines(Path.Combine(_dir, "merges.txt"), ["#version: 0.2", "a b", "a b c"]);
        var e = Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(_dir));
        Assert.Contains(Path.Combine(_dir, "merges.txt"), e.Message);
        Assert.Contains("row 3", e.Message);
    }

    [Fact]
    public void Missing_path_and_empty_folder_are_errors_naming_them()
    {
        string missing = Path.Combine(_dir, "nope", "tokenizer.json");
        Assert.Contains(missing, Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(missing)).Message);
        Assert.Contains(_dir, Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(_dir)).Message);
    }

    [Fact]
    public void Tokenizer_without_endoftext_is_refused()
    {
        string file = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new { model = new { type = "BPE", vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1 }, merges = Array.Empty<string>() } }));
        var e = Assert.Throws<LlavaModException>(() => QwenTokenizer.Load(file));
        Assert.Contains(file, e.Message);
        Assert.Contains("<|endoftext|>", e.Message);
    }
}
