using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Tests.Benchmarks;

public class MmeBenchmarkTests : IDisposable
{
    readonly TestFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("Yes", "yes")]
    [InlineData("No, it is not.", "no")]
    [InlineData("The answer is yes", "other")]   // only the first four characters are searched
    [InlineData("not sure", "no")]
    public void Answers_are_read_as_MME_s_calculation_reads_them(string text, string read) => Assert.Equal(read, MmeBenchmark.ReadAnswer(text));

    [Fact]
    public void Scores_are_acc_plus_acc_plus_per_subtask_summed_per_group()
    {
        static object Q(string id, string image, string category, string label) => new { question_id = id, image, text = "Is it? Please answer yes or no.", category, label };
        string questions = _dir.WriteLines("llava_mme.jsonl",
            Q("e1", "existence/a.jpg", "existence", "Yes"), Q("e2", "existence/a.jpg", "existence", "No"),
            Q("e3", "existence/b.jpg", "existence", "Yes"), Q("e4", "existence/b.jpg", "existence", "No"),
            Q("c1", "code_reasoning/c.png", "code_reasoning", "Yes"), Q("c2", "code_reasoning/c.png", "code_reasoning", "No"));
        string answers = _dir.WriteLines("answers.jsonl",
            new { question_id = "e1", text = "Yes" }, new { question_id = "e2", text = "No, it is not." },
            new { question_id = "e3", text = "Yes" }, new { question_id = "e4", text = "Yes" },
            new { question_id = "c1", text = "The answer is yes" }, new { question_id = "c2", text = "no" });
        var m = (MmeMetrics)new MmeBenchmark().Score(new BenchmarkInput(answers, AnswerFile.Read(answers), questions, QuestionFile.Read(questions))).Metrics;
        var existence = m.Subtasks.Single(s => s.Name == "existence");
        Assert.Equal((0.75, 0.5, 125.0), (existence.Accuracy, existence.AccuracyPlus, existence.Score));
        var code = m.Subtasks.Single(s => s.Name == "code_reasoning");
        Assert.Equal((0.5, 0.0, 50.0), (code.Accuracy, code.AccuracyPlus, code.Score));
        Assert.Equal((125.0, 50.0), (m.Perception, m.Cognition));
    }
}
