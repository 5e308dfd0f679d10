using LlavaMod.Cli;
using LlavaMod.Cli.Pipelines;

namespace LlavaMod.Cli.Tests.Pipelines;

/// <summary>The shipped pipeline files name existing verbs and options, so a typo fails here, not an hour into a run.</summary>
public class PipelineFilesTests
{
    static string RepoFile(string relative)
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
        }
    }
}
