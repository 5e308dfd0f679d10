using System.CommandLine;
using LlavaMod.Core;

namespace LlavaMod.Cli.Commands;

public static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the tool version.");
        command.SetAction(_ => Console.WriteLine($"{ToolInfo.Name} {ToolInfo.Version}"));
        return command;
    }
}
