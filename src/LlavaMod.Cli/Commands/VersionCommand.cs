using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Models.Runtime;

namespace LlavaMod.Cli.Commands;

public static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the tool version, the malloc serving it (jemalloc where Debian's libjemalloc2 is installed) and the code path of libtorch's MKL (LLAVAMOD_MKL_CODE_PATH=vendor keeps MKL's own choice on AMD CPUs).");
        command.SetAction(_ =>
        {
            Console.WriteLine($"{ToolInfo.Name} {ToolInfo.Version}");
            Console.WriteLine($"malloc: {ProcessAllocator.Describe()}");
            TorchRuntime.EnsureLoaded();
            Console.WriteLine($"mkl: {MklDispatch.State}");
        });
        return command;
    }
}
