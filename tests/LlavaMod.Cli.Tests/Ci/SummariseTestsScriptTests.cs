using System.Diagnostics;

namespace LlavaMod.Cli.Tests.Ci;

/// <summary>.ci/summarise-tests, the closing line of .ci/run: totals over assemblies, skipped tests listed, and under
/// CI=true a skipped test (a missing reference) fails the run.</summary>
public sealed class SummariseTestsScriptTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-ci-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, ".ci", "summarise-tests"))) return Path.Combine(dir.FullName, ".ci", "summarise-tests");
        throw new FileNotFoundException(".ci/summarise-tests not found above " + AppContext.BaseDirectory);
    }

    (int Code, string Out, string Err) Summarise(string log, bool ci)
    {
        string path = Path.Combine(_dir, "test.log");
        File.WriteAllText(path, log);
        var psi = new ProcessStartInfo("bash", [Script(), path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["CI"] = ci ? "true" : "";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    const string Clean = """
        Passed!  - Failed:     0, Passed:    41, Skipped:     0, Total:    41, Duration: 1 s - A.Tests.dll (net10.0)
        Failed!  - Failed:     2, Passed:   100, Skipped:     0, Total:   102, Duration: 9 s - B.Tests.dll (net10.0)
        """;

    const string WithSkips = """
        [xUnit.net 00:00:01.22]     A.Tests.Images.ResizeModeTests.PadSquare [SKIP]
          Skipped A.Tests.Images.ResizeModeTests.PadSquare [1 ms]
          Skipped A.Tests.Images.ImageAcceptanceTests.PillowJpeg [1 ms]
        Passed!  - Failed:     0, Passed:    41, Skipped:     2, Total:    43, Duration: 1 s - A.Tests.dll (net10.0)
        Passed!  - Failed:     0, Passed:     7, Skipped:     0, Total:     7, Duration: 1 s - C.Tests.dll (net10.0)
        """;

    [Fact]
    public void Totals_are_summed_over_the_assemblies()
    {
        var (code, output, _) = Summarise(Clean, ci: true);
        Assert.Equal(0, code);
        Assert.Equal("tests: 141 passed, 2 failed, 0 skipped", output.Trim());
    }

    [Fact]
    public void Skipped_tests_are_counted_and_named_and_fail_the_run_only_under_ci()
    {
        var (code, output, _) = Summarise(WithSkips, ci: false);
        Assert.Equal(0, code);
        Assert.Contains("tests: 48 passed, 0 failed, 2 skipped", output);
        Assert.Contains("skipped: A.Tests.Images.ImageAcceptanceTests.PillowJpeg", output);

        var (ciCode, _, ciErr) = Summarise(WithSkips, ci: true);
        Assert.Equal(1, ciCode);
        Assert.Contains("2 test(s) skipped under CI=true", ciErr);
    }
}
