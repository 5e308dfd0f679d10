using System.CommandLine;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Training.Stages;

namespace LlavaMod.Cli.Tests.Commands;

/// <summary>The report shows each plotted stage's resolved configuration (OUT/config.json).</summary>
public class ReportSettingsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-report-settings-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Task<int> Run(params string[] args)
    {
        var command = new RootCommand("test");
        foreach (var c in CommandCatalog.All()) command.Subcommands.Add(c);
        return CliRunner.RunAsync(command, args);
    }

    [Fact]
    public async Task The_report_shows_the_resolved_config_of_each_plotted_stage()
    {
        string questions = Path.Combine(_dir, "q.jsonl"), answers = Path.Combine(_dir, "a.jsonl"), result = Path.Combine(_dir, "pope.json");
        File.WriteAllLines(questions, ["{\"question_id\": 1, \"image\": \"a.jpg\", \"text\": \"Is there a dog?\", \"label\": \"yes\"}"]);
        File.WriteAllLines(answers, ["{\"question_id\": 1, \"text\": \"Yes\"}"]);
        Scorer.Run(new BenchmarkCatalog(), new ScoreRequest("pope", answers, result, questions));
        string stage = Path.Combine(_dir, "stages", "pd");
        var config = StageConfig.Load(null, ["stage=pd", "model=m", $"out={stage}", "pairs=p.sqlite", "loss.beta=0.25"]);
        config.WriteResolved(stage);
        string plot = Path.Combine(stage, "loss.png");
        File.WriteAllBytes(plot, [0x89, 0x50, 0x4E, 0x47]);

        string report = Path.Combine(_dir, "report.md");
        Assert.Equal(0, await Run("report", "--out", report, "--row", $"m={result}", "--plot", plot));
        string text = File.ReadAllText(report);
        Assert.Contains("## Training settings", text);
        Assert.Contains("pd: resolved stage configuration", text);
        Assert.Contains("\"beta\": 0.25", text);
        Assert.Contains("\"logit_cache\": null", text);
    }
}
