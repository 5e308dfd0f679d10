using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Evaluation.Scoring;
using LlavaMod.Evaluation.Tests.Reference;

namespace LlavaMod.Evaluation.Tests.Benchmarks;

public class VqaBenchmarkTests : IDisposable
{
    readonly TestFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("Two", "2")]
    [InlineData("The red car.", "red car")]
    [InlineData("t-shirt", "t shirt")]                    // a mark touching no space becomes a space
    [InlineData("yes - it is", "yes it is")]              // a mark touching a space is deleted
    [InlineData("1,000", "1000")]                         // a digit,digit comma deletes every mark
    [InlineData("3.5 inches.", "3.5 inches")]             // a period before a digit stays
    [InlineData("dont know", "don't know")]
    [InlineData("None", "0")]
    [InlineData("  an\tapple\n", "apple")]
    public void Answers_are_normalised_as_the_official_evaluator_does(string answer, string expected) =>
        Assert.Equal(expected, VqaAnswerNormaliser.Answer(answer));

    static object Ten(params (string Answer, int Times)[] groups) => groups.SelectMany(g => Enumerable.Repeat(g.Answer, g.Times)).ToArray();

    (string Answers, string References) Files()
    {
        string references = _dir.WriteLines("references.jsonl",
            new { question_id = 1, answers = Ten(("2", 10)) },
            new { question_id = 2, answers = Ten(("red", 2), ("blue", 8)) },
            new { question_id = 3, answers = Ten(("yes", 4), ("no", 6)) },
            new { question_id = 4, answers = Ten(("the dog", 3), ("cat", 7)) },
            new { question_id = 5, answers = Ten(("t-shirt", 5), ("shirt", 5)) },
            new { question_id = 6, answers = Ten(("1000", 10)) });
        static object A(int id, string text) => new { question_id = id, prompt = "q", text, answer_id = $"a{id}", model_id = "m", metadata = new { } };
        string answers = _dir.WriteLines("answers.jsonl", A(1, "two"), A(2, "Red."), A(3, "yes"), A(4, "The dog"), A(5, "T-shirt"), A(6, "1,000"));
        return (answers, references);
    }

    [Fact]
    public void Accuracy_is_the_leave_one_out_average_counted_by_hand()
    {
        var (answers, references) = Files();
        var scored = new VqaBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), References: references));
        var perQuestion = scored.Lines.ToDictionary(l => l.QuestionId, l => l.Scores["accuracy"]!.Value);
        Assert.Equal(1.0, perQuestion["1"], 12);
        Assert.Equal((2 * (1.0 / 3) + 8 * (2.0 / 3)) / 10, perQuestion["2"], 12);  // leaving out a "red": 1 match; a "blue": 2
        Assert.Equal(1.0, perQuestion["3"], 12);
        Assert.Equal(0.0, perQuestion["4"], 12);  // the humans' "the dog" keeps its article: only the answer loses it
        Assert.Equal(1.0, perQuestion["5"], 12);
        Assert.Equal(1.0, perQuestion["6"], 12);
        Assert.Equal((1 + 0.6 + 1 + 0 + 1 + 1) / 6, ((VqaMetrics)scored.Metrics).Accuracy, 12);
    }

    [PythonFact]
    public void Accuracy_matches_an_independent_transcription_of_the_official_evaluator()
    {
        var (answers, references) = Files();
        var scored = new VqaBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), References: references));
        var reference = OfficialScorers.Run("vqa", answers, references);
        foreach (var line in scored.Lines)
            Assert.Equal(reference["per_question"]![line.QuestionId]!.GetValue<double>(), line.Scores["accuracy"]!.Value, 12);
        Assert.Equal(reference["accuracy"]!.GetValue<double>(), ((VqaMetrics)scored.Metrics).Accuracy, 12);
    }

    [Fact]
    public void A_question_without_references_is_an_error_naming_the_file()
    {
        string references = _dir.WriteLines("references.jsonl", new { question_id = 1, answers = Ten(("2", 10)) });
        string answers = _dir.WriteLines("answers.jsonl", new { question_id = 7, text = "2" });
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() => new VqaBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), References: references)));
        Assert.Equal($"{references}: no reference for question_id 7", e.Message);
    }

    [Fact]
    public void GQA_is_exact_match_after_LLaVA_s_normalisation()
    {
        string references = _dir.WriteLines("gqa.jsonl", new { question_id = "a1", answer = "table" }, new { question_id = "a2", answer = "left" }, new { question_id = "a3", answer = "yes" });
        string answers = _dir.WriteLines("answers.jsonl", new { question_id = "a1", text = "Table." }, new { question_id = "a2", text = "the left" }, new { question_id = "a3", text = " Yes" });
        var m = (GqaMetrics)new GqaBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), References: references)).Metrics;
        Assert.Equal(2.0 / 3, m.Accuracy, 12);
    }
}
