using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Evaluation.Tests.Reference;

namespace LlavaMod.Evaluation.Tests.Benchmarks;

public class PopeBenchmarkTests : IDisposable
{
    readonly TestFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    static object Q(int id, string label, string category) => new { question_id = id, image = $"COCO_val2014_{id:D12}.jpg", text = "Is there a dog in the image?", label, category };
    static object A(int id, string text) => new { question_id = id, prompt = "Is there a dog in the image?", text, answer_id = $"a{id}", model_id = "m", metadata = new { } };

    [Theory]
    [InlineData("No, there is no dog.", true)]
    [InlineData("Yes. There is not a cat.", false)]          // only the first sentence counts
    [InlineData("There is a dog, not a cat", true)]           // "not" anywhere in the first sentence
    [InlineData("Nope", false)]
    [InlineData("No\nthere is none", false)]                  // split on spaces only: "No\nthere" is one word
    [InlineData("no", true)]
    [InlineData("NO", false)]                                 // the rule is case-sensitive: No, no, not
    public void An_answer_reads_as_no_by_LLaVA_s_rule(string text, bool no) => Assert.Equal(no, PopeBenchmark.ReadsAsNo(text));

    (string Questions, string Answers) Files()
    {
        string questions = _dir.WriteLines("pope_questions.jsonl",
            Q(1, "yes", "random"), Q(2, "yes", "random"), Q(3, "no", "random"), Q(4, "no", "random"),
            Q(5, "yes", "adversarial"), Q(6, "no", "adversarial"), Q(7, "no", "adversarial"), Q(8, "yes", "adversarial"));
        string answers = _dir.WriteLines("answers.jsonl",
            A(1, "Yes, there is a dog."),          // tp
            A(2, "No, there is not."),             // fn
            A(3, "No."),                           // tn
            A(4, "Yes"),                           // fp
            A(5, "There is a dog in the image."),  // tp
            A(6, "Yes, a dog. But no cat."),       // fp (first sentence only)
            A(7, "There is no dog"),               // tn
            A(8, "Yes"));                          // tp
        return (questions, answers);
    }

    [Fact]
    public void Metrics_are_those_counted_by_hand()
    {
        var (questions, answers) = Files();
        var scored = new PopeBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions)));
        var m = (PopeMetrics)scored.Metrics;
        Assert.Equal((3, 2, 2, 1), (m.Tp, m.Fp, m.Tn, m.Fn));
        Assert.Equal(5.0 / 8, m.Accuracy, 12);
        Assert.Equal(3.0 / 5, m.Precision, 12);
        Assert.Equal(3.0 / 4, m.Recall, 12);
        Assert.Equal(2 * 0.6 * 0.75 / (0.6 + 0.75), m.F1, 12);
        Assert.Equal(5.0 / 8, m.YesRatio, 12);
        Assert.Equal(Math.Sqrt(5.0 / 8 * 3 / 8 / 8), m.AccuracyStandardError, 12);
        // random: tp, fn, tn, fp; adversarial: tp, fp, tn, tp
        Assert.Equal((1, 1, 1, 1), (m.Categories!["random"].Tp, m.Categories["random"].Fp, m.Categories["random"].Tn, m.Categories["random"].Fn));
        Assert.Equal(3.0 / 4, m.Categories["adversarial"].Accuracy, 12);
        Assert.Equal(["no", "yes"], scored.Lines.Where(l => l.QuestionId is "2" or "6").Select(l => l.Detail!["read_as"]!.GetValue<string>()));
    }

    [PythonFact]
    public void Metrics_match_an_independent_transcription_of_LLaVA_s_eval_pope()
    {
        var (questions, answers) = Files();
        var m = (PopeMetrics)new PopeBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions))).Metrics;
        var reference = OfficialScorers.Run("pope", questions, answers);
        Assert.Equal((reference["tp"]!.GetValue<int>(), reference["fp"]!.GetValue<int>(), reference["tn"]!.GetValue<int>(), reference["fn"]!.GetValue<int>()), (m.Tp, m.Fp, m.Tn, m.Fn));
        foreach (var (key, value) in new[] { ("accuracy", m.Accuracy), ("precision", m.Precision), ("recall", m.Recall), ("f1", m.F1), ("yes_ratio", m.YesRatio) })
            Assert.Equal(reference[key]!.GetValue<double>(), value, 12);
    }

    [Fact]
    public void Labels_can_come_from_POPE_s_own_annotation_file()
    {
        string questions = _dir.WriteLines("llava_pope_test.jsonl",
            new { question_id = 1, image = "a.jpg", text = "Is there a cat?", category = "popular" },
            new { question_id = 2, image = "a.jpg", text = "Is there a dog?", category = "popular" });
        string labels = _dir.WriteLines("coco_pope_popular.json", new { question_id = 1, label = "no" }, new { question_id = 2, label = "yes" });
        string answers = _dir.WriteLines("answers.jsonl", A(1, "No"), A(2, "No"));
        var m = (PopeMetrics)new PopeBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions), References: labels)).Metrics;
        Assert.Equal((0, 0, 1, 1), (m.Tp, m.Fp, m.Tn, m.Fn));
    }

    [Fact]
    public void Labels_from_POPE_s_folder_are_matched_in_order_within_each_category()
    {
        string questions = _dir.WriteLines("llava_pope_test.jsonl",
            new { question_id = 10, image = "a.jpg", text = "Is there a cat?", category = "random" },
            new { question_id = 11, image = "a.jpg", text = "Is there a cat?", category = "popular" },
            new { question_id = 12, image = "b.jpg", text = "Is there a dog?", category = "random" },
            new { question_id = 13, image = "b.jpg", text = "Is there a dog?", category = "popular" });
        string folder = Path.Combine(_dir.Path, "coco");
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "coco_pope_random.json"), ["""{"question_id": 1, "image": "a.jpg", "text": "Is there a cat?", "label": "no"}""", """{"question_id": 2, "image": "b.jpg", "text": "Is there a dog?", "label": "yes"}"""]);
        File.WriteAllLines(Path.Combine(folder, "coco_pope_popular.json"), ["""{"question_id": 1, "image": "a.jpg", "text": "Is there a cat?", "label": "yes"}""", """{"question_id": 2, "image": "b.jpg", "text": "Is there a dog?", "label": "yes"}"""]);
        string answers = _dir.WriteLines("answers.jsonl", A(10, "No"), A(11, "No"), A(12, "Yes"), A(13, "Yes"));
        var m = (PopeMetrics)new PopeBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions), References: folder)).Metrics;
        Assert.Equal((1, 0, 1, 0), (m.Categories!["random"].Tp, m.Categories["random"].Fp, m.Categories["random"].Tn, m.Categories["random"].Fn));
        Assert.Equal((1, 0, 0, 1), (m.Categories["popular"].Tp, m.Categories["popular"].Fp, m.Categories["popular"].Tn, m.Categories["popular"].Fn));
    }

    [Fact]
    public void A_question_without_a_label_is_an_error_naming_file_and_line()
    {
        string questions = _dir.WriteLines("q.jsonl", Q(1, "yes", "random"), new { question_id = 2, image = "b.jpg", text = "Is there a cat?" });
        string answers = _dir.WriteLines("answers.jsonl", A(1, "Yes"), A(2, "No"));
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() =>
            new PopeBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions))));
        Assert.Contains($"{questions}: line 2: no \"label\"", e.Message);
    }
}
