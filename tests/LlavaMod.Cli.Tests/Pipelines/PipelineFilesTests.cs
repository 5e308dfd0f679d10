using LlavaMod.Cli;
using LlavaMod.Cli.Pipelines;

namespace LlavaMod.Cli.Tests.Pipelines;

/// <summary>The shipped pipeline files name existing verbs and options, so a typo fails here, not an hour into a run.</summary>
public class PipelineFilesTests
{
    public static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlavaMod.Data.sln"))) return Path.Combine(dir.FullName, relative);
        throw new InvalidOperationException("repository root not found");
    }

    [Theory]
    [InlineData("pipelines/demo.json")]
    [InlineData("pipelines/llava-mod.json")]
    public void Every_step_parses_as_a_llavamod_command(string file)
    {
        string path = RepoFile(file);
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        foreach (var (step, args) in runner.ResolvedSteps())
        {
            var parse = CommandCatalog.CreateRoot().Parse(args);
            Assert.True(parse.Errors.Count == 0, $"{file} step '{step.Name}': {string.Join("; ", parse.Errors.Select(e => e.Message))}");
            // a rerun after a crash must continue a training step from its newest checkpoint; without --resume, train refuses a folder holding checkpoints
            if (args[0] == "train") Assert.True(args.Contains("--resume"), $"{file} step '{step.Name}': a train step needs --resume to continue after an interruption");
        }
        // the runner's own pre-flight check (stage configs of train steps included) passes
        Assert.Equal(runner.ResolvedSteps().Count, runner.Plan(CommandCatalog.CreateRoot, null, null).Count);
    }
}

/// <summary>The README's main command, shrunk: every step of pipelines/demo.json runs on a tiny corpus and a rerun skips them all.</summary>
public class DemoPipelineTests : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("llavamod-demo-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public async Task The_demo_pipeline_runs_end_to_end_at_toy_size_and_resumes()
    {
        string path = PipelineFilesTests.RepoFile("pipelines/demo.json");
        var overrides = new Dictionary<string, string>
        {
            ["out"] = _out, ["train_scenes"] = "16", ["test_scenes"] = "8", ["mine_scenes"] = "8", ["batch_size"] = "8", ["vision_steps"] = "5",
            ["teacher_steps"] = "4", ["mimic_steps"] = "3", ["d2s_steps"] = "3", ["samples_per_prompt"] = "6", ["sample_temperature"] = "2.0", ["pd_epochs"] = "1", ["pd_batch_size"] = "4",
        };
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, overrides);
        var log = new StringWriter();
        Assert.Equal(0, await runner.RunAsync(CommandCatalog.CreateRoot, null, false, log, CancellationToken.None));
        string report = File.ReadAllText(Path.Combine(_out, "report.md"));
        Assert.Contains("| teacher |", report);
        Assert.Contains("student + preference distillation", report);

        var rerun = new StringWriter();
        Assert.Equal(0, await runner.RunAsync(CommandCatalog.CreateRoot, null, false, rerun, CancellationToken.None));
        Assert.Equal(runner.ResolvedSteps().Count, rerun.ToString().Split('\n').Count(l => l.Contains("done earlier, skipped")));
    }
}
