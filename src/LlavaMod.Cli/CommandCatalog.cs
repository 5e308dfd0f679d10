using System.CommandLine;

namespace LlavaMod.Cli;

/// <summary>Every top-level verb of the llavamod command, in the order --help lists them.
/// Each verb lives in Commands/VerbCommand.cs and exposes a static Create().</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return Commands.VersionCommand.Create();
        yield return Commands.ShardCommand.Create();
        yield return Commands.VerifyCommand.Create();
        yield return Commands.InspectCommand.Create();
        yield return Commands.MergeCommand.Create();
        yield return Commands.DemoDataCommand.Create();
    }
}
