using System.Reflection;
using LlavaMod.Cli.Tests.EndToEnd;

namespace LlavaMod.Cli.Tests.Commands;

public class VersionCommandTests
{
    [Fact]
    public void Version_prints_the_tool_name_and_the_version_the_executable_was_built_with()
    {
        string built = typeof(CommandCatalog).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        var result = LlavamodProcess.Run(AppContext.BaseDirectory, "version");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Trim().Split('\n');
        Assert.Equal($"llavamod {built}", lines[0]);
        Assert.StartsWith("malloc: ", lines[1]); // which malloc and MKL code path: ProcessAllocatorTests
        Assert.StartsWith("mkl: ", lines[2]);
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^\d+\.\d+\.\d+", built);
        Assert.Equal("", result.Stderr);
    }
}
