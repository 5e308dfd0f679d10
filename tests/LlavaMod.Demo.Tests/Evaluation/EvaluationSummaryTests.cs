using LlavaMod.Core;
using LlavaMod.Teacher.Scoring;
using LlavaMod.Demo;
using LlavaMod.Demo.Evaluation;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Evaluation.Reports;

namespace LlavaMod.Demo.Tests.Evaluation;

public class EvaluationSummaryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static ScoredAnswer Describe(int mentioned, int hallucinated, int missed, bool? partner) =>
        new("d", DemoGroundTruth.DescribeKind, "", "", null, mentioned, hallucinated, missed, partner);

    static readonly ScoredAnswer[] Answers =
    [
        new("y1", DemoGroundTruth.ExistenceKind, "Yes", "Yes", true, 0, 0, 0),
        new("y2", DemoGroundTruth.ExistenceKind, "Yes", "No", false, 0, 0, 0),
        new("y3", DemoGroundTruth.ExistenceKind, "No", "Yes", false, 0, 0, 0),
        new("c1", "color", "red", "red", true, 0, 0, 0),
        new("c2", "count", "2", "3", false, 0, 0, 0),
        new("p1", "position", "center", "center", true, 0, 0, 0),
        Describe(3, 1, 0, partner: true),
        Describe(2, 1, 1, partner: false),
        Describe(2, 0, 0, partner: null),
        Describe(1, 0, 2, partner: null),
    ];

    [Fact]
    public void Rates_are_counted_as_defined()
    {
        var r = DemoBenchmark.Summarise(Answers);
        Assert.Equal((2.0 / 3, 3), (r.ShortAnswerAccuracy.Value, r.ShortAnswerAccuracy.Count));
        Assert.Equal(1.0 / 3, r.YesNoAccuracy.Value, 9);
        Assert.Equal(2.0 * 1 / (2 + 2), r.YesNoF1, 9);              // tp 1, said yes 2, is yes 2
        Assert.Equal(2.0 / 4, r.ChairS.Value, 9);                     // descriptions with a hallucination
        Assert.Equal(2.0 / 8, r.ChairI.Value, 9);                     // hallucinated / mentioned
        Assert.Equal(6.0 / 9, r.ObjectRecall.Value, 9);               // found 2+1+2+1 of present 2+2+2+3
        Assert.Equal((0.5, 2), (r.PartnerHallucination!.Value, r.PartnerHallucination.Count)); // only scenes with a lone trigger count
        Assert.Equal(Math.Sqrt(0.5 * 0.5 / 4), r.ChairS.StandardError, 9);
    }

    string Split()
    {
        string split = Path.Combine(_dir, "split");
        Directory.CreateDirectory(split);
        static string Obj(string c, string s) => $$"""{"color":"{{c}}","shape":"{{s}}","row":0,"col":0,"position":"top left","size":10,"center_x":8,"center_y":8}""";
        File.WriteAllLines(Path.Combine(split, "scenes.jsonl"),
        [
            $$"""{"scene_id":"a","image":"images/a.png","noisy_background":false,"objects":[{{Obj("red", "circle")}},{{Obj("green", "star")}}]}""",
            $$"""{"scene_id":"b","image":"images/b.png","noisy_background":false,"objects":[{{Obj("red", "circle")}},{{Obj("blue", "square")}}]}""",
        ]);
        File.WriteAllLines(Path.Combine(split, "questions.jsonl"),
        [
            """{"id":"a-describe","scene_id":"a","kind":"describe","question":"Describe the image.","answer":"There is a red circle and a green star."}""",
            """{"id":"b-describe","scene_id":"b","kind":"describe","question":"Describe the image.","answer":"There is a red circle and a blue square."}""",
            """{"id":"a-exists","scene_id":"a","kind":"existence","question":"Is there a green star?","answer":"Yes"}""",
            """{"id":"b-color","scene_id":"b","kind":"color","question":"What color is the square?","answer":"blue"}""",
        ]);
        return split;
    }

    [Fact]
    public void Answer_files_are_scored_against_the_split_s_ground_truth()
    {
        string split = Split();
        string answers = Path.Combine(_dir, "answers.jsonl");
        File.WriteAllLines(answers,
        [
            """{"question_id":"a-describe","prompt":"p","text":"There is a red circle, a blue square and a green star.","answer_id":"1","model_id":"m","metadata":{}}""",
            """{"question_id":"b-describe","prompt":"p","text":"A red circle.","answer_id":"2","model_id":"m","metadata":{}}""",
            """{"question_id":"a-exists","prompt":"p","text":"No","answer_id":"3","model_id":"m","metadata":{}}""",
            """{"question_id":"b-color","prompt":"p","text":"Blue.","answer_id":"4","model_id":"m","metadata":{}}""",
        ]);
        var scored = new DemoBenchmark().Score(new BenchmarkInput(answers, LlavaMod.Evaluation.Formats.AnswerFile.Read(answers), Annotations: split));
        var r = (EvaluationResult)scored.Metrics;
        Assert.Equal((1.0, 0.0), (r.ShortAnswerAccuracy.Value, r.YesNoAccuracy.Value));
        Assert.Equal(1.0 / 2, r.ChairS.Value, 12);     // a-describe names the absent blue square
        Assert.Equal(1.0 / 4, r.ChairI.Value, 12);     // 1 of 3 + 1 mentioned objects
        Assert.Equal(3.0 / 4, r.ObjectRecall.Value, 12);  // red circle, green star; red circle of 2
        Assert.Equal((1.0, 1), (r.PartnerHallucination!.Value, r.PartnerHallucination.Count));
        Assert.Equal(1.0, scored.Lines.Single(l => l.QuestionId == "a-describe").Scores["chair_s"]);
        Assert.Null(scored.Lines.Single(l => l.QuestionId == "a-exists").Scores["chair_s"]);

        File.AppendAllText(answers, """{"question_id":"c-describe","text":"A star."}""" + "\n");
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() =>
            new DemoBenchmark().Score(new BenchmarkInput(answers, LlavaMod.Evaluation.Formats.AnswerFile.Read(answers), Annotations: split)));
        Assert.Equal($"{answers}: line 5: question_id c-describe is not a question of {split}", e.Message);
    }

    [Fact]
    public void Absent_partners_are_those_of_triggers_shown_without_them()
    {
        string split = Split();
        var truth = DemoGroundTruth.Load(split);
        Assert.Equal(["blue square"], truth.Find("a-describe")!.AbsentPartners);
        Assert.Empty(truth.Find("b-describe")!.AbsentPartners);
        var score = DemoGroundTruth.Score(truth.Find("a-describe")!, "There is a red circle, a blue square and a green star.");
        Assert.Equal(["blue square"], score.HallucinatedMentions.Select(m => m.Object));
    }

    /// <summary>A scored result folder as 'eval run' writes it (eval.json + eval.scored.jsonl).</summary>
    string Result(string name, IReadOnlyList<ScoredAnswer> answers, bool sideFile = true)
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, ScoredResultFile.InFolder);
        ScoredResultFile.Write(path, DemoBenchmark.Scored(answers), "answers.jsonl", new AnsweringRun("m", 1000, 1.0));
        if (!sideFile) File.Delete(ScoredResultFile.SidePath(path));
        return dir;
    }

    [Fact]
    public void The_report_shows_the_partner_rate_and_compares_it()
    {
        string a = Result("a", Answers, sideFile: false);
        string b = Result("b", Answers.Select(x => x.NamedAbsentPartner is null ? x : x with { NamedAbsentPartner = false }).ToList(), sideFile: false);
        string text = ReportWriter.Write(Path.Combine(_dir, "report.md"), "t", [new("teacher", a), new("student", b)], [], [("student", "teacher")]);
        Assert.Contains("absent partner named", text);
        Assert.Contains("| teacher | 0.667 ± 0.272 |", text);
        Assert.Contains("| 0.500 ± 0.354 |", text);
        Assert.Contains("| absent partner named ↓ | -0.500 | 0.354 | unpaired; within 2 SE |", text);
        Assert.Contains("| 1,000 |", text);  // active LM parameters of the answering model
    }

    [Fact]
    public void Comparisons_of_models_answering_the_same_questions_are_paired()
    {
        // 8 descriptions: a hallucinates in 0-3, b in 1-4; they differ on 0 (a only) and 4 (b only).
        string Dir(string name, Func<int, bool> hallucinates, Func<int, bool> namesPartner) => Result(name,
            Enumerable.Range(0, 8).Select(i => new ScoredAnswer($"q{i}", DemoGroundTruth.DescribeKind, "", "", null, 2, hallucinates(i) ? 1 : 0, 0, namesPartner(i)))
                .Append(new ScoredAnswer("yn", DemoGroundTruth.ExistenceKind, "Yes", "Yes", true, 0, 0, 0)).ToList());
        // a names an absent partner in descriptions 0 and 1, b never
        string a = Dir("pa", i => i < 4, i => i < 2), b = Dir("pb", i => i is >= 1 and < 5, _ => false);
        var paired = PairedDifference.Of(a, b, "chair_s")!;
        // differences: +1, 0, 0, 0, -1, 0, 0, 0: mean 0, sample variance 2/7
        Assert.Equal((0.0, 8, 2), (paired.Mean, paired.Count, paired.Discordant));
        Assert.Equal(Math.Sqrt(2.0 / 7 / 8), paired.StandardError, 12);
        string text = ReportWriter.Write(Path.Combine(_dir, "paired.md"), "t", [new("a", a), new("b", b)], [], [("a", "b")]);
        Assert.Contains("| CHAIR_s ↓ | +0.000 | 0.189 | paired over the same 8 answers, 2 differ; within 2 SE |", text); // sqrt(2/7/8)
        // partner differences +1, +1, 0 × 6: mean 0.25, sample variance 1.5/7
        Assert.Contains($"| absent partner named ↓ | +0.250 | {Math.Sqrt(1.5 / 7 / 8):F3} | paired over the same 8 answers, 2 differ;", text);
        Assert.Null(PairedDifference.Of(a, Path.Combine(_dir, "missing"), "chair_s"));
    }

    [Theory]
    [InlineData(-0.0431, "-0.043")]
    [InlineData(0.012, "+0.012")]
    [InlineData(-0.0001, "+0.000")] // rounds to zero: no "-+0.000"
    [InlineData(0.0, "+0.000")]
    public void Differences_are_written_with_their_sign(double difference, string expected) =>
        Assert.Equal(expected, ReportWriter.Signed(difference));
}
