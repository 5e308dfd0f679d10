using LlavaMod.Cli;
using LlavaMod.Cli.Pipelines;
using LlavaMod.Core;

namespace LlavaMod.Cli.Tests.Pipelines;

public class PipelineRunnerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("pipeline-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WritePipeline(string stepsJson)
    {
        string path = Path.Combine(_dir, "p.json");
        File.WriteAllText(path, $$"""
        { "name": "t", "parameters": { "out": "{{_dir}}/out", "greeting": "v-${out}" },
          "steps": {{stepsJson}} }
        """);
        return path;
    }

    [Fact]
    public void Parameters_resolve_recursively_and_overrides_apply()
    {
        string path = WritePipeline("""[ { "name": "a", "args": ["version", "${greeting}"] } ]""");
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string> { ["out"] = "/x" });
        Assert.Equal(new[] { "version", "v-/x" }, runner.ResolvedSteps().Single().Args);
    }

    [Fact]
    public void Unknown_parameter_and_unknown_override_are_errors_naming_the_file()
    {
        string path = WritePipeline("""[ { "name": "a", "args": ["version", "${nope}"] } ]""");
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        var e = Assert.Throws<LlavaModException>(() => runner.ResolvedSteps());
        Assert.Contains("nope", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Throws<LlavaModException>(() => new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string> { ["bogus"] = "1" }));
    }

    [Fact]
    public async Task Finished_steps_are_recorded_and_skipped_on_rerun_and_a_failing_step_stops_the_run()
    {
        string path = WritePipeline("""
            [ { "name": "first", "args": ["version"] },
              { "name": "broken", "args": ["no-such-verb"] },
              { "name": "never", "args": ["version"] } ]
            """);
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        var log = new StringWriter();
        int code = await runner.RunAsync(CommandCatalog.CreateRoot, null, false, log, CancellationToken.None);
        Assert.NotEqual(0, code);
        Assert.True(File.Exists(Path.Combine(runner.StateDirectory, "first.done.json")));
        Assert.False(File.Exists(Path.Combine(runner.StateDirectory, "never.done.json")));

        var rerunLog = new StringWriter();
        await runner.RunAsync(CommandCatalog.CreateRoot, null, false, rerunLog, CancellationToken.None);
        Assert.Contains("first: done earlier, skipped", rerunLog.ToString());
        Assert.Contains("broken: llavamod no-such-verb", rerunLog.ToString());
    }

    [Fact]
    public async Task Until_stops_after_the_named_step_and_an_unknown_name_is_an_error()
    {
        string path = WritePipeline("""
            [ { "name": "first", "args": ["version"] },
              { "name": "second", "args": ["version"] },
              { "name": "third", "args": ["version"] } ]
            """);
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        Assert.Equal(0, await runner.RunAsync(CommandCatalog.CreateRoot, null, false, new StringWriter(), CancellationToken.None, untilStep: "second"));
        Assert.True(File.Exists(Path.Combine(runner.StateDirectory, "second.done.json")));
        Assert.False(File.Exists(Path.Combine(runner.StateDirectory, "third.done.json")));
        var e = await Assert.ThrowsAsync<LlavaModException>(() => runner.RunAsync(CommandCatalog.CreateRoot, null, false, new StringWriter(), CancellationToken.None, untilStep: "fourth"));
        Assert.Contains("--until fourth", e.Message);
    }

    [Fact]
    public void Duplicate_step_names_are_refused()
    {
        string path = WritePipeline("""[ { "name": "a", "args": ["version"] }, { "name": "a", "args": ["version"] } ]""");
        Assert.Throws<LlavaModException>(() => PipelineDefinition.Load(path));
    }
}
