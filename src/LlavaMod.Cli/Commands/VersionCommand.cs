using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Models.Runtime;

namespace LlavaMod.Cli.Commands;

public static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the tool version and the malloc serving it (jemalloc where Debian's libjemalloc2 is installed).");
        command.SetAction(_ =>
        {
            Console.WriteLine($"{ToolInfo.Name} {ToolInfo.Version}");
            Console.WriteLine($"malloc: {ProcessAllocator.Describe()}");
        });
        return command;
    }
}
