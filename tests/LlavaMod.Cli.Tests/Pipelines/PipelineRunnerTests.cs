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
              { "name": "broken", "args": ["verify", "${out}/no-such-dataset"] },
              { "name": "never", "args": ["version"] } ]
            """);
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        var log = new StringWriter();
        await Assert.ThrowsAsync<LlavaModException>(() => runner.RunAsync(CommandCatalog.CreateRoot, null, false, log, CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(runner.StateDirectory, "first.done.json")));
        Assert.False(File.Exists(Path.Combine(runner.StateDirectory, "never.done.json")));

        var rerunLog = new StringWriter();
        await Assert.ThrowsAsync<LlavaModException>(() => runner.RunAsync(CommandCatalog.CreateRoot, null, false, rerunLog, CancellationToken.None));
        Assert.Contains("first: done earlier, skipped", rerunLog.ToString());
        Assert.Contains("broken: llavamod verify", rerunLog.ToString());
    }

    [Theory]
    [InlineData("""["no-such-verb"]""", "unknown verb 'no-such-verb'")]
    [InlineData("""["shrad", "--input", "x.json"]""", "did you mean shard?")]
    [InlineData("""["verify", "x", "--no-such-option"]""", "--no-such-option")]
    [InlineData("""["teacher", "cache-logits", "--teacher", "t", "--data", "d", "--out", "o", "--k", "0"]""", "--k must be ≥ 1")]
    [InlineData("""["train", "--set", "stage=sft", "--set", "model=m", "--set", "out=o", "--set", "data=[\"d\"]", "--set", "max_step=2"]""", "did you mean max_steps?")]
    [InlineData("""["train", "--set", "stage=pd", "--set", "model=m", "--set", "out=o", "--set", "pairs=p.sqlite", "--set", "loss.beta=0"]""", "loss.beta must be > 0")]
    public async Task A_bad_step_anywhere_stops_the_run_before_any_step_runs(string badArgs, string expected)
    {
        string path = WritePipeline($$"""
            [ { "name": "first", "args": ["version"] },
              { "name": "bad", "args": {{badArgs}} },
              { "name": "third", "args": ["version"] } ]
            """);
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        var e = await Assert.ThrowsAsync<LlavaModException>(() => runner.RunAsync(CommandCatalog.CreateRoot, null, false, new StringWriter(), CancellationToken.None));
        Assert.Contains("step 2 'bad'", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
        Assert.False(File.Exists(Path.Combine(runner.StateDirectory, "first.done.json")));
        // the dry run checks the same, also for steps outside --from/--until
        var dry = Assert.Throws<LlavaModException>(() => runner.Plan(CommandCatalog.CreateRoot, "third", null));
        Assert.Equal(e.Message, dry.Message);
    }

    [Theory]
    [InlineData("""{ "name": "t", "stpes": [] }""", "unknown key 'stpes'; did you mean steps?")]
    [InlineData("""{ "name": "t", "steps": [ { "name": "a", "agrs": ["version"] } ] }""", "unknown key 'steps[0].agrs'; did you mean steps[0].args?")]
    public void An_unknown_key_in_a_pipeline_file_is_refused_with_the_closest_key(string json, string expected)
    {
        string path = Path.Combine(_dir, "typo.json");
        File.WriteAllText(path, json);
        Assert.Equal($"{path}: {expected}", Assert.Throws<LlavaModException>(() => PipelineDefinition.Load(path)).Message);
    }

    [Fact]
    public void Dry_run_plan_honours_from_and_until_and_refuses_unknown_step_names()
    {
        string path = WritePipeline("""
            [ { "name": "first", "args": ["version"] },
              { "name": "second", "args": ["version"] },
              { "name": "third", "args": ["version"] } ]
            """);
        var runner = new PipelineRunner(PipelineDefinition.Load(path), path, new Dictionary<string, string>());
        Assert.Equal(["second", "third"], runner.Plan(CommandCatalog.CreateRoot, "second", null).Select(s => s.Step.Name));
        Assert.Equal(["first", "second"], runner.Plan(CommandCatalog.CreateRoot, null, "second").Select(s => s.Step.Name));
        Assert.Equal(["second"], runner.Plan(CommandCatalog.CreateRoot, "second", "second").Select(s => s.Step.Name));
        Assert.Contains("--from fourth", Assert.Throws<LlavaModException>(() => runner.Plan(CommandCatalog.CreateRoot, "fourth", null)).Message);
        Assert.Contains("--until nope", Assert.Throws<LlavaModException>(() => runner.Plan(CommandCatalog.CreateRoot, null, "nope")).Message);
        Assert.Contains("comes before", Assert.Throws<LlavaModException>(() => runner.Plan(CommandCatalog.CreateRoot, "third", "first")).Message);
        Assert.False(Directory.Exists(runner.StateDirectory));
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
