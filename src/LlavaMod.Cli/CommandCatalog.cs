using System.CommandLine;

namespace LlavaMod.Cli;

/// <summary>Every top-level verb of the llavamod command, in the order --help lists them.
/// Each verb lives in Commands/VerbCommand.cs and exposes a static Create().</summary>
public static class CommandCatalog
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "llavamod: data preparation, cached-teacher distillation and preference mining for LLaVA-MoD style " +
            "multimodal mixture-of-experts students. Run 'llavamod COMMAND --help' for each command.");
        foreach (var command in All())
            root.Subcommands.Add(command);
        return root;
    }

    public static IEnumerable<Command> All()
    {
        yield return Commands.RunCommand.Create();
        yield return Commands.DemoDataCommand.Create();
        yield return Commands.ShardCommand.Create();
        yield return Commands.VerifyCommand.Create();
        yield return Commands.InspectCommand.Create();
        yield return Commands.MergeCommand.Create();
        yield return Commands.ModelCommand.Create();
        yield return Commands.GenerateCommand.Create();
        yield return Commands.TeacherCommand.Create();
        yield return Commands.PairsCommand.Create();
        yield return Commands.TrainCommand.Create();
        yield return Commands.EvalCommand.Create();
        yield return Commands.ReportCommand.Create();
        yield return Commands.VersionCommand.Create();
    }
}
