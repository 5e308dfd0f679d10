using System.CommandLine;
using LlavaMod.Core;

namespace LlavaMod.Cli;

/// <summary>Runs the parsed command and turns user-facing errors (and a full disk, wherever it
/// happens) into one clear line and exit code 1.</summary>
public static class CliRunner
{
    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter? error = null)
    {
        error ??= Console.Error;
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is LlavaModException user)
        {
            error.WriteLine($"error: {user.Message}");
            return 1;
        }
        catch (Exception e) when (DiskFull.Find(e) is { } full)
        {
            error.WriteLine($"error: {DiskFull.Describe(DiskFull.FileOf(full) ?? "a file")}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("cancelled");
            return 130;
        }
    }

    /// <summary>The exception a worker task's AggregateException carries, when it carries one.</summary>
    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        return e;
    }
}
