using System.Diagnostics;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>The exit code and the two output streams of one llavamod run.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Asserts exit code 0 (naming the command and its stderr otherwise) and returns stdout.</summary>
    public string Succeeded(string command)
    {
        Assert.True(ExitCode == 0, $"llavamod {command} exited with {ExitCode}: {Stderr}{Stdout}");
        return Stdout;
    }
}

/// <summary>
/// Runs the built llavamod executable as a user does (its own process, arguments as on a command line, output
/// redirected as in a pipe or a log file, so Spectre.Console renders at its default 80 columns).
/// </summary>
public static class LlavamodProcess
{
    public static CliResult Run(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout, stderr.Result);
    }

    public static string Succeeds(string workingDirectory, params string[] args) =>
        Run(workingDirectory, args).Succeeded(string.Join(' ', args));
}
