using System.Diagnostics;
using System.Text.RegularExpressions;
using LlavaMod.Models.Runtime;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Tests;

/// <summary>A test that needs Debian's libjemalloc2; skipped (with the reason) where it is missing.</summary>
public sealed class JemallocFactAttribute : FactAttribute
{
    public JemallocFactAttribute()
    {
        if (ProcessAllocator.FindJemalloc() is null) Skip = "needs jemalloc (apt-get install libjemalloc2)";
    }
}

/// <summary>
/// <c>llavamod</c> as a process runs itself again on jemalloc (<see cref="ProcessAllocator"/>): the same arguments,
/// output, exit code and process id, with libjemalloc mapped; <c>LLAVAMOD_ALLOCATOR=glibc</c> keeps glibc.
/// </summary>
public sealed class ProcessAllocatorTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cli-malloc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static ProcessStartInfo Llavamod(string? allocator, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "llavamod"), arguments)
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment.Remove(ProcessAllocator.Variable);
        start.Environment.Remove("LD_PRELOAD");
        if (allocator is not null) start.Environment[ProcessAllocator.Variable] = allocator;
        return start;
    }

    static (int ExitCode, string Output, string Error) Run(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "llavamod did not exit");
        return (process.ExitCode, output.Result, error.Result);
    }

    [JemallocFact]
    public void Version_runs_on_jemalloc_and_names_it()
    {
        var (code, output, _) = Run(Llavamod(null, "version"));
        Assert.Equal(0, code);
        Assert.Contains($"malloc: jemalloc ({ProcessAllocator.FindJemalloc()})", output);
    }

    [Fact]
    public void The_variable_keeps_glibc()
    {
        var (code, output, _) = Run(Llavamod("glibc", "version"));
        Assert.Equal(0, code);
        Assert.Contains("malloc: glibc (LLAVAMOD_ALLOCATOR=glibc)", output);
    }

    [Fact]
    public void Version_names_mkls_code_path_and_the_variable_keeps_mkls_own_choice()
    {
        string cpu = MklDispatch.CpuVendor();
        Assert.True(cpu is "GenuineIntel" or "AuthenticAMD", $"a test for Intel and AMD CPUs, not {cpu}");
        bool intel = cpu == "GenuineIntel";
        var plain = Llavamod("glibc", "version");
        plain.Environment.Remove(MklDispatch.Variable);
        var (code, output, _) = Run(plain);
        Assert.Equal(0, code);
        Assert.Contains(intel ? "mkl: MKL's Intel code path (Intel CPU)" : "mkl: MKL's Intel code path (AMD CPU, vendor check answered)", output);

        var vendor = Llavamod("glibc", "version");
        vendor.Environment[MklDispatch.Variable] = "vendor";
        (code, output, _) = Run(vendor);
        Assert.Equal(0, code);
        Assert.Contains(intel ? "mkl: MKL's Intel code path (Intel CPU)" : "mkl: MKL's generic code path (LLAVAMOD_MKL_CODE_PATH=vendor)", output);

        var typo = Llavamod("glibc", "version");
        typo.Environment[MklDispatch.Variable] = "vendr";
        var (failed, _, error) = Run(typo);
        Assert.Equal(1, failed);
        Assert.Contains("LLAVAMOD_MKL_CODE_PATH=vendr: the only value is 'vendor'", error);
    }

    [JemallocFact]
    public void A_users_own_preload_is_kept_as_given()
    {
        string other = Path.Combine(Path.GetDirectoryName(ProcessAllocator.FindJemalloc())!, "libm.so.6"); // any library: here the C maths library
        Assert.True(File.Exists(other), other);
        var start = Llavamod(null, "version");
        start.Environment["LD_PRELOAD"] = other;
        var (code, output, _) = Run(start);
        Assert.Equal(0, code);
        Assert.Contains($"malloc: glibc, or the one LD_PRELOAD={other} brings", output);
    }

    [JemallocFact]
    public void The_command_line_and_the_exit_code_survive_the_relaunch()
    {
        // an argument with spaces and non-ASCII letters, echoed back in the error for a missing file
        string missing = Path.Combine(_dir, "no such dir", "données ü");
        var relaunched = Run(Llavamod(null, "inspect", missing, "--rows", "2"));
        var glibc = Run(Llavamod("glibc", "inspect", missing, "--rows", "2"));
        Assert.Equal(1, relaunched.ExitCode);
        Assert.Contains(missing, relaunched.Error);
        Assert.Equal(glibc.ExitCode, relaunched.ExitCode);
        Assert.Equal(glibc.Error, relaunched.Error);
        Assert.Equal(glibc.Output, relaunched.Output);
    }

    [JemallocFact]
    public async Task A_relaunched_server_keeps_its_process_id_and_stops_on_sigint()
    {
        string db = Path.Combine(_dir, "pairs.db");
        using (var store = PairStore.Open(db)) store.CreateRun(new RunInfo("r", "t", "1", "s", "1", "c", "1"));
        using var process = Process.Start(Llavamod(null, "pairs", "serve", "--db", db, "--port", "0"))!;
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Matches(new Regex(@"serving http://"), line ?? "");
            // the id the test started is the server's: execve replaced the image, no child was left behind
            Assert.Contains("libjemalloc", await File.ReadAllTextAsync($"/proc/{process.Id}/maps"));
            using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString()])) await interrupt.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
