using System.Text.Json.Nodes;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Benchmarks.Chair;
using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Tests.Benchmarks;

public class ChairBenchmarkTests : IDisposable
{
    readonly TestFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("Two hot dogs on a plate.", "hot dog")]                  // a two-word name, plural; "dogs" alone is not a dog
    [InlineData("Three people and two children.", "person person")]
    [InlineData("A motor bike next to the buses.", "motorcycle bus")]
    [InlineData("Two wine glasses.", "wine glass")]
    [InlineData("A baby elephant beside an adult giraffe.", "elephant giraffe")]  // "baby"/"adult" are not people here
    [InlineData("A passenger train on the train tracks.", "train")]       // "train track" names nothing
    [InlineData("A toilet with the seat up.", "toilet")]                 // with a toilet, a seat is not a chair
    [InlineData("A seat by the window.", "chair")]
    [InlineData("Some teddy bears, knives and skis.", "teddy bear knife skis")]
    [InlineData("A t-shirt and a dog's bowl.", "dog bowl")]
    public void Descriptions_are_read_into_COCO_objects_as_CHAIR_reads_them(string text, string categories) =>
        Assert.Equal(categories, string.Join(' ', CocoObjectWords.Default.Mentions(text).Select(m => m.Category)));

    static JsonArray Images(params int[] ids) => new(ids.Select(id => (JsonNode)new JsonObject { ["id"] = id, ["file_name"] = $"COCO_val2014_{id:D12}.jpg", ["height"] = 480, ["width"] = 640 }).ToArray());

    string Annotations()
    {
        string dir = Path.Combine(_dir.Path, "annotations");
        Directory.CreateDirectory(dir);
        var categories = new JsonArray(new[] { (1, "person"), (18, "dog"), (47, "cup"), (58, "hot dog"), (62, "chair"), (70, "toilet"), (88, "teddy bear") }
            .Select(c => (JsonNode)new JsonObject { ["id"] = c.Item1, ["name"] = c.Item2, ["supercategory"] = "x" }).ToArray());
        JsonObject Instance(int id, int image, int category) => new() { ["id"] = id, ["image_id"] = image, ["category_id"] = category, ["segmentation"] = new JsonArray(new JsonArray(1.0, 2.0, 3.0, 4.0)), ["area"] = 10.0, ["bbox"] = new JsonArray(1, 2, 3, 4), ["iscrowd"] = 0 };
        File.WriteAllText(Path.Combine(dir, "instances_val2014.json"), new JsonObject
        {
            ["info"] = new JsonObject(), ["images"] = Images(1, 2, 3), ["categories"] = categories,
            ["annotations"] = new JsonArray(Instance(1, 1, 1), Instance(2, 1, 18), Instance(3, 1, 18), Instance(4, 2, 58), Instance(5, 3, 70)),
        }.ToJsonString());
        JsonObject Caption(int id, int image, string text) => new() { ["id"] = id, ["image_id"] = image, ["caption"] = text };
        File.WriteAllText(Path.Combine(dir, "captions_val2014.json"), new JsonObject
        {
            ["info"] = new JsonObject(), ["images"] = Images(1, 2, 3),
            ["annotations"] = new JsonArray(Caption(1, 1, "A man walking his dog on a leash."), Caption(2, 2, "Two hot dogs on a plate next to a cup."),
                Caption(3, 3, "A white toilet in a small bathroom.")),
        }.ToJsonString());
        return dir;
    }

    [Fact]
    public void CHAIR_and_recall_are_those_counted_by_hand()
    {
        string questions = _dir.WriteLines("object_halbench.jsonl",
            new { question_id = 1, image = "val2014/COCO_val2014_000000000001.jpg", text = "Describe the image in detail.", image_id = 1 },
            new { question_id = 2, image = "val2014/COCO_val2014_000000000002.jpg", text = "Describe the image in detail." },   // matched by file_name
            new { question_id = 3, image = "x.jpg", text = "Describe the image in detail.", image_id = 3 },
            new { question_id = 4, image = "y.jpg", text = "Describe the image in detail.", image_id = 1 },
            new { question_id = 5, image = "z.jpg", text = "Describe the image in detail.", image_id = "3" });
        string answers = _dir.WriteLines("answers.jsonl",
            new { question_id = 1, text = "A woman walks two dogs past a cat and a bench." },       // person, dog ok; cat, bench hallucinated
            new { question_id = 2, text = "Two hot dogs and a cup of coffee, with a teddy bear." }, // cup is in a reference caption only
            new { question_id = 3, text = "A toilet seat in a bathroom with a passenger train poster." },
            new { question_id = 4, text = "A baby elephant." },
            new { question_id = 5, text = "A clean white room." });
        var scored = new ChairBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions), Annotations()));
        var m = (ChairMetrics)scored.Metrics;
        Assert.Equal(4.0 / 5, m.ChairS, 12);                 // answers 1-4 hallucinate
        Assert.Equal(5.0 / 10, m.ChairI, 12);                // mentions 4+3+2+1+0, hallucinated 2+1+1+1+0
        Assert.Equal(5.0 / 8, m.Recall, 12);                 // covered 2+2+1+0+0 of 2+2+1+2+1
        Assert.Equal(2.0, m.Mentions, 12);
        Assert.Equal(Math.Sqrt(0.5 * 0.5 + 0.5 * 0.5) / 10, m.ChairIStandardError, 12);  // residuals hᵢ − 0.5·mᵢ: 0, −0.5, 0, 0.5, 0
        Assert.Equal(Math.Sqrt(0.8 * 0.2 / 5), m.ChairSStandardError, 12);
        var first = scored.Lines.Single(l => l.QuestionId == "1").Detail!;
        Assert.Equal("[[\"cat\",\"cat\"],[\"bench\",\"bench\"]]", first["hallucinated"]!.ToJsonString());
        Assert.Equal("[\"dog\",\"person\"]", first["covered"]!.ToJsonString());
    }

    [Fact]
    public void A_question_whose_image_is_not_annotated_is_an_error_naming_file_and_line()
    {
        string questions = _dir.WriteLines("q.jsonl",
            new { question_id = 1, image = "COCO_val2014_000000000001.jpg", text = "Describe." },
            new { question_id = 2, image = "COCO_val2014_000000000099.jpg", text = "Describe." });
        string answers = _dir.WriteLines("answers.jsonl", new { question_id = 1, text = "A dog." }, new { question_id = 2, text = "A dog." });
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() =>
            new ChairBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions), Annotations())));
        Assert.StartsWith($"{questions}: line 2: image COCO_val2014_000000000099.jpg is not in the annotations", e.Message);
    }
}
