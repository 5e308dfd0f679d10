using LlavaMod.Core;
using LlavaMod.Teacher.Scoring;
using LlavaMod.Demo.Evaluation;
using LlavaMod.Demo;
using LlavaMod.Training.Stages;

namespace LlavaMod.Demo.Tests.Evaluation;

/// <summary>The report shows each plotted stage's resolved configuration (OUT/config.json).</summary>
public class ReportSettingsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-report-settings-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_report_shows_the_resolved_config_of_each_plotted_stage()
    {
        string evalDir = Path.Combine(_dir, "eval");
        Directory.CreateDirectory(evalDir);
        ScoredAnswer[] answers = [new("c1", "color", "red", "red", true, 0, 0, 0), new("d", DemoGroundTruth.DescribeKind, "", "", null, 2, 1, 0)];
        Json.WriteFileAtomic(Path.Combine(evalDir, "eval.json"), Evaluator.Summarise("m", answers, 1000, 1.0));
        string stage = Path.Combine(_dir, "stages", "pd");
        var config = StageConfig.Load(null, ["stage=pd", "model=m", $"out={stage}", "pairs=p.sqlite", "loss.beta=0.25"]);
        config.WriteResolved(stage);
        string plot = Path.Combine(stage, "loss.png");
        File.WriteAllBytes(plot, [0x89, 0x50, 0x4E, 0x47]);

        string text = ReportWriter.Write(Path.Combine(_dir, "report.md"), "t", [new("m", evalDir)], [plot], []);

        Assert.Contains("## Training settings", text);
        Assert.Contains("pd: resolved stage configuration", text);
        Assert.Contains("\"beta\": 0.25", text);
        Assert.Contains("\"logit_cache\": null", text);
    }
}
