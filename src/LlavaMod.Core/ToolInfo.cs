using System.Reflection;

namespace LlavaMod.Core;

public static class ToolInfo
{
    public const string Name = "llavamod";

    public static string Version { get; } =
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? "0.0.0";
}
