using System.Text.Json;
using LlavaMod.Core;
using LlavaMod.Preferences.Interop;

namespace LlavaMod.Preferences.Tests;

/// <summary>Export → import round trips, checked against the generated reference; Parquet files are
/// read and written by DuckDB as an independent implementation.</summary>
public class ExchangeTests
{
    static List<ExpectedPair> Fill(PairStore store, int prompts, int seed)
    {
        var (batch, expected) = TestData.Mined(prompts, seed);
        store.AddMinedBatch(store.CreateRun(TestData.Run()), batch);
        return expected;
    }

    static Dictionary<string, string> DuckColumns(string file) =>
        TestData.Duck($"DESCRIBE SELECT * FROM read_parquet('{file}')").ToDictionary(r => (string)r[0]!, r => ((string)r[1]!).Replace("\"", ""));

    static void AssertSameTextsAndLogps(IEnumerable<ExpectedPair> expected, PairStore imported)
    {
        var got = imported.EnumerateTrainingPairs(PairSplit.Train).ToList();
        var want = expected.ToList();
        Assert.Equal(want.Count, got.Count);
        foreach (var (e, g) in want.Zip(got))
        {
            Assert.Equal(e.PromptText, g.PromptText);
            Assert.Equal(e.ChosenText, g.ChosenText);
            Assert.Equal(e.RejectedText, g.RejectedText);
            Assert.Equal(e.ImagePath, g.ImagePath);
            Assert.Equal(e.RefChosenLogp, g.RefChosenLogp);
            Assert.Equal(e.RefRejectedLogp, g.RefRejectedLogp);
            Assert.Equal(e.Severity, g.Severity);
        }
    }

    [Fact]
    public async Task Trl_parquet_has_trl_columns_and_round_trips_text_and_reference_logps()
    {
        using var dir = new TempDir();
        string file = dir.File("pairs.parquet");
        List<ExpectedPair> expected;
        using (var store = PairStore.Open(dir.File("a.db")))
        {
            expected = Fill(store, prompts: 1100, seed: 30); // 2200 pairs: two row groups
            Assert.Equal(expected.Count, await PairExchange.ExportAsync(store, file, new ExportOptions(ExportFormat.Trl)));
        }

        Assert.Equal(2L, Convert.ToInt64(TestData.Duck($"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{file}')")[0][0]));
        var columns = DuckColumns(file);
        Assert.Equal("STRUCT(role VARCHAR, content STRUCT(type VARCHAR, text VARCHAR)[])[]", columns["prompt"]);
        Assert.Equal(columns["prompt"], columns["chosen"]);
        Assert.Equal(columns["prompt"], columns["rejected"]);
        Assert.Equal("STRUCT(bytes BLOB, path VARCHAR)[]", columns["images"]);
        Assert.Equal("DOUBLE", columns["teacher_chosen_logps"]);
        // TRL adds ref_chosen_logps/ref_rejected_logps itself (precompute_ref_log_probs); the file must not hold them.
        Assert.DoesNotContain("ref_chosen_logps", columns.Keys);
        Assert.DoesNotContain("ref_rejected_logps", columns.Keys);
        var rows = TestData.Duck($"""
            SELECT len(prompt), prompt[1].role, len(prompt[1].content), prompt[1].content[1].type, prompt[1].content[-1].type, prompt[1].content[-1].text,
                   len(chosen), chosen[1].role, chosen[1].content[1].type, chosen[1].content[1].text, rejected[1].role, rejected[1].content[1].text,
                   teacher_chosen_logps, teacher_rejected_logps, len(images), images[1].path
            FROM read_parquet('{file}')
            """);
        Assert.Equal(expected.Count, rows.Count);
        foreach (var (e, r) in expected.Zip(rows))
        {
            bool image = e.ImagePath is not null;
            Assert.Equal((1L, "user", image ? 2L : 1L), (Convert.ToInt64(r[0]), (string)r[1]!, Convert.ToInt64(r[2])));
            Assert.Equal((image ? "image" : "text", "text", e.PromptText), ((string)r[3]!, (string)r[4]!, (string)r[5]!));
            Assert.Equal((1L, "assistant", "text", e.ChosenText), (Convert.ToInt64(r[6]), (string)r[7]!, (string)r[8]!, (string)r[9]!));
            Assert.Equal(("assistant", e.RejectedText), ((string)r[10]!, (string)r[11]!));
            Assert.Equal(e.RefChosenLogp, (double)r[12]!);
            Assert.Equal(e.RefRejectedLogp, (double)r[13]!);
            Assert.Equal(image ? 1L : 0L, Convert.ToInt64(r[14]));
            Assert.Equal(e.ImagePath, (string?)r[15]);
        }

        using var imported = PairStore.Open(dir.File("b.db"));
        var result = await PairExchange.ImportAsync(imported, file, new ImportOptions());
        Assert.Equal((expected.Count, (long)expected.Count), (result.PairsInserted, result.Rows));
        AssertSameTextsAndLogps(expected, imported);
        Assert.Equal(0, (await PairExchange.ImportAsync(imported, file, new ImportOptions())).PairsInserted);
        Assert.Equal(expected.Count, imported.CountPairs(new PairQuery { Source = PairSource.Imported }));
    }

    [Theory]
    [InlineData("pairs.json")]
    [InlineData("pairs.jsonl")]
    public async Task Llava_mod_json_has_the_conversation_layout_and_round_trips(string name)
    {
        using var dir = new TempDir();
        string file = dir.File(name);
        List<ExpectedPair> expected;
        using (var store = PairStore.Open(dir.File("a.db")))
        {
            expected = Fill(store, prompts: 30, seed: 31);
            await PairExchange.ExportAsync(store, file, new ExportOptions(ExportFormat.LlavaMod));
        }
        var objects = name.EndsWith(".jsonl")
            ? File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).ToList()
            : JsonDocument.Parse(File.ReadAllText(file)).RootElement.EnumerateArray().ToList();
        Assert.Equal(expected.Count, objects.Count);
        foreach (var (e, o) in expected.Zip(objects))
        {
            var chosen = o.GetProperty("chosen");
            Assert.Equal("human", chosen[0].GetProperty("from").GetString());
            Assert.Equal(e.ImagePath is null ? e.PromptText : "<image>\n" + e.PromptText, chosen[0].GetProperty("value").GetString());
            Assert.Equal(e.ChosenText, chosen[1].GetProperty("value").GetString());
            Assert.Equal(e.RejectedText, o.GetProperty("rejected")[1].GetProperty("value").GetString());
            Assert.Equal(e.ImagePath, o.TryGetProperty("image", out var img) ? img.GetString() : null);
            Assert.Equal(e.RefChosenLogp, o.GetProperty("ref_chosen_logps").GetDouble());
        }
        using var imported = PairStore.Open(dir.File("b.db"));
        Assert.Equal(expected.Count, (await PairExchange.ImportAsync(imported, file, new ImportOptions())).PairsInserted);
        AssertSameTextsAndLogps(expected, imported);
    }

    [Fact]
    public async Task Embedded_images_are_exported_as_bytes_and_written_back_by_content_hash()
    {
        using var dir = new TempDir();
        string file = dir.File("pairs.parquet");
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5];
        string imageRoot = Directory.CreateDirectory(dir.File("root")).FullName;
        Directory.CreateDirectory(Path.Combine(imageRoot, "img"));
        File.WriteAllBytes(Path.Combine(imageRoot, "img", "a.jpg"), jpeg);
        using (var store = PairStore.Open(dir.File("a.db")))
        {
            long run = store.CreateRun(TestData.Run());
            store.AddMinedBatch(run, [new MinedPrompt(new PromptRecord("k", "what is it?", ImagePath: "img/a.jpg"),
                [new ResponseRecord("a cat", [1], 0), new ResponseRecord("a dog", [2], -1)], [new PairRecord(0, 1, RefChosenLogp: -3.5, RefRejectedLogp: -7.25)])]);
            await PairExchange.ExportAsync(store, file, new ExportOptions(ExportFormat.Trl, ImageRoot: imageRoot, EmbedImages: true));
        }
        var row = Assert.Single(TestData.Duck($"SELECT hex(images[1].bytes), images[1].path FROM read_parquet('{file}')"));
        Assert.Equal(Convert.ToHexString(jpeg), (string)row[0]!);
        Assert.Equal("img/a.jpg", (string)row[1]!);

        string imageDir = dir.File("extracted");
        using var imported = PairStore.Open(dir.File("b.db"));
        await PairExchange.ImportAsync(imported, file, new ImportOptions(ImageDir: imageDir));
        var pair = Assert.Single(imported.EnumerateTrainingPairs(PairSplit.Train));
        Assert.Equal(Path.Combine(imageDir, Hashing.Sha256Hex(jpeg) + ".jpg"), pair.ImagePath);
        Assert.Equal(jpeg, File.ReadAllBytes(pair.ImagePath!));
        Assert.Equal(Hashing.Sha256Hex(jpeg), pair.ImageKey);
    }

    [Fact]
    public async Task Rlaif_v_parquet_written_by_duckdb_is_imported_with_images_and_origin()
    {
        using var dir = new TempDir();
        string file = dir.File("RLAIF-V-Dataset_000.parquet");
        TestData.Duck($"""
            COPY (SELECT * FROM (VALUES
              ('RLAIF-V', {"{"}'bytes': unhex('89504E470D0A1A0A01'), 'path': NULL::VARCHAR{"}"}, 'What color is the bus?', 'The bus is red.', 'The bus is blue and has wings.', 'VQAv2', 'omnilmm-12b;llava', '7', 'VQAv2/7.png'),
              ('RLAIF-V', {"{"}'bytes': unhex('FFD8FFE000'), 'path': NULL::VARCHAR{"}"}, 'Describe the image.', 'A kitchen with a table.', 'A kitchen with a cat on a table.', 'COCO', 'llava15;detail', '8', 'COCO/8.jpg'),
              ('RLAIF-V', {"{"}'bytes': unhex('FFD8FFE000'), 'path': NULL::VARCHAR{"}"}, 'Describe the image.', 'Same.', 'Same.', 'COCO', 'llava15;detail', '9', 'COCO/8.jpg')
            ) AS t(ds_name, image, question, chosen, rejected, origin_dataset, origin_split, idx, image_path))
            TO '{file}' (FORMAT parquet)
            """);
        using var store = PairStore.Open(dir.File("b.db"));
        string imageDir = dir.File("images");
        var result = await PairExchange.ImportAsync(store, file, new ImportOptions(ImageDir: imageDir));
        Assert.Equal((3L, 2, 1L), (result.Rows, result.PairsInserted, result.SkippedIdentical));
        var rows = store.ListPairs(new PairQuery());
        Assert.Equal(["What color is the bus?", "Describe the image."], rows.Select(r => r.PromptText));
        Assert.Equal("The bus is blue and has wings.", rows[0].RejectedText);
        byte[] png = Convert.FromHexString("89504E470D0A1A0A01");
        Assert.Equal(Path.Combine(imageDir, Hashing.Sha256Hex(png) + ".png"), rows[0].ImagePath);
        Assert.Equal(png, File.ReadAllBytes(rows[0].ImagePath!));
        var detail = store.GetPair(rows[1].Id)!;
        var meta = JsonDocument.Parse(detail.PromptMetaJson!).RootElement;
        Assert.Equal("COCO", meta.GetProperty("origin_dataset").GetString());
        Assert.Equal("llava15;detail", meta.GetProperty("origin_split").GetString());
        Assert.Equal(PairSource.Imported.ToString().ToLowerInvariant(), detail.Source);
        Assert.Equal(0, (await PairExchange.ImportAsync(store, file, new ImportOptions(ImageDir: imageDir))).PairsInserted);
    }

    [Fact]
    public async Task A_tokenizer_given_to_import_fills_token_ids_and_lengths()
    {
        using var dir = new TempDir();
        string file = dir.File("p.jsonl");
        File.WriteAllLines(file,
        [
            """{"chosen": [{"from": "human", "value": "how many cats"}, {"from": "gpt", "value": "two cats"}], "rejected": [{"from": "human", "value": "how many cats"}, {"from": "gpt", "value": "three big cats here"}]}""",
        ]);
        // A stand-in tokenizer: one id per word, the word's length.
        static int[] Words(string text) => text.Split(' ').Select(w => w.Length).ToArray();
        using var store = PairStore.Open(dir.File("b.db"));
        await PairExchange.ImportAsync(store, file, new ImportOptions(Tokenize: Words));
        var pair = Assert.Single(store.EnumerateTrainingPairs(PairSplit.Train));
        Assert.Equal(new[] { 3, 4, 4 }, pair.PromptTokenIds);
        Assert.Equal(new[] { 3, 4 }, pair.ChosenTokenIds);
        Assert.Equal(new[] { 5, 3, 4, 4 }, pair.RejectedTokenIds);
        var row = Assert.Single(store.ListPairs(new PairQuery { MinLength = 4, MaxLength = 4 }));
        Assert.Equal((2L, 4L, 4L), (row.ChosenTokens!.Value, row.RejectedTokens!.Value, row.Length!.Value));
    }

    [Fact]
    public async Task Bad_rows_are_reported_with_file_and_row()
    {
        using var dir = new TempDir();
        string file = dir.File("bad.jsonl");
        File.WriteAllLines(file,
        [
            """{"id": "1", "chosen": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "rejected": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "b"}]}""",
            """{"id": "2", "chosen": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "rejected": [{"from": "human", "value": "other"}, {"from": "gpt", "value": "b"}]}""",
        ]);
        using var store = PairStore.Open(dir.File("b.db"));
        var e = await Assert.ThrowsAsync<LlavaModException>(() => PairExchange.ImportAsync(store, file, new ImportOptions()));
        Assert.Contains("bad.jsonl, row 2", e.Message);
        Assert.Contains("human turns", e.Message);
        await File.WriteAllTextAsync(dir.File("x.parquet"), "not parquet");
        var p = await Assert.ThrowsAsync<LlavaModException>(() => PairExchange.ImportAsync(store, dir.File("x.parquet"), new ImportOptions()));
        Assert.Contains("x.parquet", p.Message);
    }
}
