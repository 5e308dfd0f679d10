using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Preferences.Interop;

namespace LlavaMod.Preferences.Tests;

/// <summary>The exports read as the receiving code reads them: the Parquet file's `datasets` features
/// interpreted the way <c>Features.from_dict</c> / <c>generate_from_dict</c> does and held against the
/// column types DuckDB (an independent Parquet reader) sees; LLaVA-MoD's conversation JSON with one
/// image token and the bare question in the first human turn.</summary>
public class HandOffTests
{
    const string System = "Answer questions about the image.";
    const string Rendered = System + " USER: <image>\nDescribe the image. ASSISTANT:";
    const string ChatMlRendered = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\nHow many cats?<|im_end|>\n<|im_start|>assistant\n";

    /// <summary>The Arrow/DuckDB type a serialised feature stands for, by datasets' rules: a JSON list
    /// [f] is a list of f; {"_type": "Sequence", "feature": f} with f not a dict is a list of f; a dict
    /// without "_type" is a struct; Image is struct {bytes binary, path string}; Value is its dtype.</summary>
    static string TypeOf(JsonNode feature) => feature switch
    {
        JsonArray list => TypeOf(Assert.Single(list)!) + "[]",
        JsonObject o when o["_type"] is null => $"STRUCT({string.Join(", ", o.Select(kv => $"{kv.Key} {TypeOf(kv.Value!)}"))})",
        JsonObject o => (string)o["_type"]! switch
        {
            "Sequence" or "List" when o["feature"] is not JsonObject { } f || f["_type"] is not null => TypeOf(o["feature"]!) + "[]",
            "Image" => "STRUCT(bytes BLOB, path VARCHAR)",
            "Value" => (string)o["dtype"]! switch
            {
                "string" => "VARCHAR", "float64" => "DOUBLE", "int64" => "BIGINT", "int32" => "INTEGER", "binary" => "BLOB",
                var d => throw new Xunit.Sdk.XunitException($"dtype {d} not mapped"),
            },
            var t => throw new Xunit.Sdk.XunitException($"feature type {t} not expected"),
        },
        _ => throw new Xunit.Sdk.XunitException($"not a feature: {feature}"),
    };

    static async Task<string> ExportOne(TempDir dir, string promptText, ExportFormat format, string name)
    {
        string file = dir.File(name);
        using var store = PairStore.Open(dir.File(name + ".db"));
        long run = store.CreateRun(TestData.Run());
        store.AddMinedBatch(run, [new MinedPrompt(new PromptRecord("k", promptText, [1, 2, 3], "shard:0", "images/0.jpg"),
            [new ResponseRecord("A cat on a mat.", [4]), new ResponseRecord("A dog with wings.", [5])], [new PairRecord(0, 1, RefChosenLogp: -3.5, RefRejectedLogp: -7.25)])]);
        await PairExchange.ExportAsync(store, file, new ExportOptions(format));
        return file;
    }

    [Fact]
    public async Task Trl_parquet_features_metadata_decodes_to_the_file_s_column_types_with_images_as_Image()
    {
        using var dir = new TempDir();
        string file = await ExportOne(dir, "Describe the image.", ExportFormat.Trl, "trl.parquet");
        var kv = TestData.Duck($"SELECT decode(key), decode(value) FROM parquet_kv_metadata('{file}')").ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
        var features = JsonNode.Parse(kv["huggingface"])!["info"]!["features"]!.AsObject();
        var columns = TestData.Duck($"DESCRIBE SELECT * FROM read_parquet('{file}')").Select(r => ((string)r[0]!, ((string)r[1]!).Replace("\"", ""))).ToList();
        Assert.Equal(columns.Select(c => c.Item1), features.Select(f => f.Key));
        foreach (var (name, type) in columns) Assert.Equal(type, TypeOf(features[name]!));
        Assert.Equal("Image", (string)features["images"]!["feature"]!["_type"]!);
    }

    [Theory]
    [InlineData(Rendered, "Describe the image.")]
    [InlineData(ChatMlRendered, "How many cats?")]
    [InlineData("<image>\nDescribe the image.", "Describe the image.")]
    [InlineData("Describe the image.", "Describe the image.")]
    public async Task Llava_mod_export_has_one_image_token_and_the_bare_question_in_the_first_human_turn(string stored, string question)
    {
        using var dir = new TempDir();
        string file = await ExportOne(dir, stored, ExportFormat.LlavaMod, "p.json");
        var pair = Assert.Single(JsonDocument.Parse(File.ReadAllText(file)).RootElement.EnumerateArray().ToList());
        foreach (var key in new[] { "chosen", "rejected" })
        {
            var human = pair.GetProperty(key)[0];
            Assert.Equal("human", human.GetProperty("from").GetString());
            string value = human.GetProperty("value").GetString()!;
            Assert.Equal("<image>\n" + question, value);
            Assert.Single(value.Split("<image>").Skip(1));
            foreach (var template in new[] { "USER:", "ASSISTANT:", System, "<|im_start|>", "<|im_end|>" })
                Assert.DoesNotContain(template, value);
        }
        using var imported = PairStore.Open(dir.File("back.db"));
        await PairExchange.ImportAsync(imported, file, new ImportOptions());
        Assert.Equal(question, Assert.Single(imported.EnumerateTrainingPairs(PairSplit.Train)).PromptText);
    }

    [Fact]
    public async Task Import_of_an_old_export_with_the_template_inside_the_human_turn_keeps_only_the_question()
    {
        using var dir = new TempDir();
        string file = dir.File("old.jsonl");
        string human = "<image>\n" + Rendered;
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            image = "images/0.jpg",
            chosen = new[] { new { from = "human", value = human }, new { from = "gpt", value = "A cat." } },
            rejected = new[] { new { from = "human", value = human }, new { from = "gpt", value = "A dog." } },
        }) + "\n");
        using var store = PairStore.Open(dir.File("b.db"));
        await PairExchange.ImportAsync(store, file, new ImportOptions());
        Assert.Equal("Describe the image.", Assert.Single(store.EnumerateTrainingPairs(PairSplit.Train)).PromptText);
    }

    [Fact]
    public async Task Trl_export_of_a_rendered_prompt_has_the_question_as_its_text_part_and_imports_back()
    {
        using var dir = new TempDir();
        string file = await ExportOne(dir, Rendered, ExportFormat.Trl, "trl.parquet");
        var row = Assert.Single(TestData.Duck($"SELECT prompt[1].content[1].type, prompt[1].content[2].text FROM read_parquet('{file}')"));
        Assert.Equal(("image", "Describe the image."), ((string)row[0]!, (string)row[1]!));
        using var store = PairStore.Open(dir.File("b.db"));
        await PairExchange.ImportAsync(store, file, new ImportOptions());
        var pair = Assert.Single(store.EnumerateTrainingPairs(PairSplit.Train));
        Assert.Equal(("Describe the image.", "A cat on a mat.", "A dog with wings.", -3.5, -7.25),
            (pair.PromptText, pair.ChosenText, pair.RejectedText, pair.RefChosenLogp!.Value, pair.RefRejectedLogp!.Value));
    }
}
