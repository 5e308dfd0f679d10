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
        Assert.Equal($"llavamod {built}", result.Stdout.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", built);
        Assert.Equal("", result.Stderr);
    }
}
