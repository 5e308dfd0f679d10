using LlavaMod.Core;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Benchmarks.Chair;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Evaluation.Reports;

namespace LlavaMod.Evaluation.Tests.Reports;

public class ReportWriterTests : IDisposable
{
    readonly TestFolder _dir = new();
    public void Dispose() => _dir.Dispose();

    string Pope(string name, params string[] texts)
    {
        string questions = _dir.WriteLines("q.jsonl", texts.Select((_, i) => (object)new { question_id = i, image = "a.jpg", text = "Is there a dog?", label = i % 2 == 0 ? "yes" : "no" }).ToArray());
        string answers = _dir.WriteLines($"{name}.jsonl", texts.Select((t, i) => (object)new { question_id = i, text = t }).ToArray());
        string result = _dir.File($"{name}.json");
        Scorer.Run(new BenchmarkCatalog(), new ScoreRequest("pope", answers, result, questions));
        return result;
    }

    [Fact]
    public void Rows_of_one_benchmark_are_compared_pairwise_per_answer()
    {
        string a = Pope("a", "Yes", "No", "Yes", "No");   // all right
        string b = Pope("b", "Yes", "Yes", "No", "No");   // right on 0 and 3
        string text = ReportWriter.Write(_dir.File("report.md"), "t", [new("a", a), new("b", b)], [], [("a", "b")]);
        Assert.Contains("| a | 1.000 ± 0.000 |", text);
        Assert.Contains("| b | 0.500 ± 0.250 |", text);
        // accuracy differences per question 0, 1, 1, 0: mean 0.5, sample variance 1/3
        Assert.Contains($"| accuracy | +0.500 | {Math.Sqrt(1.0 / 3 / 4):F3} | paired over the same 4 answers, 2 differ; within 2 SE |", text);
    }

    [Fact]
    public void Comparing_rows_of_different_benchmarks_or_unknown_rows_is_an_error()
    {
        string a = Pope("a", "Yes", "No");
        string vqaAnswers = _dir.WriteLines("v.jsonl", new { question_id = 1, text = "2" });
        string refs = _dir.WriteLines("refs.jsonl", new { question_id = 1, answers = Enumerable.Repeat("2", 10).ToArray() });
        string v = _dir.File("v.json");
        Scorer.Run(new BenchmarkCatalog(), new ScoreRequest("vqa", vqaAnswers, v, References: refs));
        var e = Assert.Throws<LlavaModException>(() => ReportWriter.Write(_dir.File("r.md"), "t", [new("a", a), new("v", v)], [], [("a", "v")]));
        Assert.Equal("--compare a:v: the rows scored different benchmarks (pope, vqa)", e.Message);
        e = Assert.Throws<LlavaModException>(() => ReportWriter.Write(_dir.File("r.md"), "t", [new("a", a)], [], [("a", "x")]));
        Assert.Equal("--compare a:x: x is not a --row name", e.Message);
        string text = ReportWriter.Write(_dir.File("r.md"), "t", [new("a", a), new("v", v)], [], []);
        Assert.Contains("## pope", text);
        Assert.Contains("## vqa", text);
    }

    [Fact]
    public void An_unknown_benchmark_names_the_known_ones()
    {
        var e = Assert.Throws<LlavaModException>(() => new BenchmarkCatalog().Get("mmhal"));
        Assert.Equal("--benchmark mmhal: unknown; one of pope, chair, vqa, gqa, mme", e.Message);
    }
}
