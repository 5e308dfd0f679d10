using System.Collections;
using System.Runtime.InteropServices;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// Runs the process on jemalloc where it is installed, as PyTorch's CPU launcher does
/// (<c>torch.backends.xeon.run_cpu</c>: it finds libjemalloc, sets <c>LD_PRELOAD</c> and <c>MALLOC_CONF</c> and starts
/// the script again). A malloc can only be chosen before the process starts, so
/// <see cref="UseJemallocWhereInstalled"/>, the first call of <c>llavamod</c>'s Main, executes the same command line
/// again (<c>execve</c> of <c>/proc/self/exe</c>: the same process id, pipes and exit code) with jemalloc preloaded.
/// <para>
/// Why: glibc's heap keeps the small autograd nodes libtorch makes between a forward's large activations, so the
/// holes the backward frees do not merge, and the gradients it allocates land above the forward's extent; jemalloc
/// keeps small and large allocations apart. At 200.7 M parameters in bf16 a step peaks at 3,391–3,392 instead of
/// 3,712–3,723 MB at the same speed (the runs' noise is larger than any difference) (docs/benchmarks.md, "jemalloc"
/// and its session-12 subsection). <see cref="JemallocSettings"/> keep freed pages in the
/// process, as <see cref="NativeHeap"/> does under glibc.
/// </para>
/// <para>
/// <c>LLAVAMOD_ALLOCATOR=glibc</c> keeps glibc (with <see cref="NativeHeap"/>'s settings); a <c>MALLOC_CONF</c> or an
/// <c>LD_PRELOAD</c> in the environment (another malloc such as TCMalloc, a sanitizer) is kept as given. Without
/// libjemalloc2 (Debian's package) nothing changes.
/// </para>
/// </summary>
public static class ProcessAllocator
{
    /// <summary>The environment variable naming the allocator: <c>glibc</c> to keep it; the relaunch sets <c>jemalloc</c>.</summary>
    public const string Variable = "LLAVAMOD_ALLOCATOR";

    /// <summary>
    /// jemalloc's settings when the environment has no <c>MALLOC_CONF</c>: blocks of 2 MB and more from one arena of
    /// their own (<c>oversize_threshold</c>), and freed pages kept in the process for the next step instead of being
    /// returned and faulted in again (<c>dirty_decay_ms:-1</c>). With a threshold of 1 byte (every large block in that
    /// arena; session 11's setting) the demo's MoE stage, whose experts get another number of tokens every step, grew by
    /// ~20 MB a step to 1.0–2.0 GB and ran up to a third slower on its page faults; from 2 MB it stays at 0.64 GB, and
    /// a 200.7 M-parameter bf16 step peaks at 3,392 MB (3,405 with 1 byte). PyTorch's CPU launcher also keeps "muzzy" pages
    /// forever and runs a background thread; measured here, that took the demo's mimic stage from 0.89 GB (glibc) to
    /// 3.2–3.8 GB with three times the system time (docs/benchmarks.md, "jemalloc" and "The JIT's background work and
    /// jemalloc's large-block arena (session 12)").
    /// </summary>
    public const string JemallocSettings = "oversize_threshold:2097152,dirty_decay_ms:-1";

    const string Library = "libjemalloc.so.2";
    static readonly string[] LibraryDirectories =
        ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"];

    /// <summary>The installed libjemalloc.so.2, or null.</summary>
    public static string? FindJemalloc() =>
        LibraryDirectories.Select(directory => Path.Combine(directory, Library)).FirstOrDefault(File.Exists);

    /// <summary>The jemalloc library mapped into this process, or null when malloc is glibc's.</summary>
    public static string? LoadedJemalloc() => MappedLibraries.Find("libjemalloc"); // no /proc (a bare container): glibc it is

    /// <summary>The malloc serving this process in one word, for benchmark records: jemalloc, glibc or platform.</summary>
    public static string Name => LoadedJemalloc() is not null ? "jemalloc" : OperatingSystem.IsLinux() ? "glibc" : "platform";

    /// <summary>One line for logs and <c>llavamod version</c>: which malloc serves this process, and why.</summary>
    public static string Describe() =>
        LoadedJemalloc() is { } loaded ? $"jemalloc ({loaded})"
        : !OperatingSystem.IsLinux() ? "the platform's"
        : Environment.GetEnvironmentVariable(Variable) is { } chosen ? $"glibc ({Variable}={chosen})"
        : UserPreload() is { } preload ? $"glibc, or the one LD_PRELOAD={preload} brings"
        : FindJemalloc() is null ? "glibc (Debian's libjemalloc2 would use less memory)"
        : "glibc";

    /// <summary>
    /// Executes this process's command line again with jemalloc preloaded, when on Linux, neither <see cref="Variable"/>
    /// nor <c>LD_PRELOAD</c> is set, jemalloc is not loaded yet and libjemalloc.so.2 is installed. Returns only where it
    /// does not (or where <c>execve</c> fails: then glibc serves, as before). Call it first thing in Main, before any
    /// thread of one's own.
    /// </summary>
    public static void UseJemallocWhereInstalled()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is not null || LoadedJemalloc() is not null) return;
        if (UserPreload() is not null) return; // the user's own preload (another malloc, a sanitizer) is kept as given
        if (FindJemalloc() is not { } library) return;
        string[] arguments;
        try { arguments = CommandLine(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; } // no /proc: stay on glibc
        if (arguments.Length == 0) return;
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        environment["LD_PRELOAD"] = library;
        environment.TryAdd("MALLOC_CONF", JemallocSettings);
        environment[Variable] = "jemalloc";
        string?[] argv = [.. arguments, null];
        string?[] envp = [.. environment.Select(e => $"{e.Key}={e.Value}"), null];
        UnblockSignals();
        execve("/proc/self/exe", argv, envp); // returns only on failure
    }

    static string? UserPreload() => Environment.GetEnvironmentVariable("LD_PRELOAD") is { Length: > 0 } preload ? preload : null;

    /// <summary>This process's argv, as the kernel holds it (NUL-separated, empty arguments kept).</summary>
    static string[] CommandLine()
    {
        var text = File.ReadAllText("/proc/self/cmdline");
        if (text.EndsWith('\0')) text = text[..^1];
        return text.Length == 0 ? [] : text.Split('\0');
    }

    /// <summary>execve keeps the calling thread's signal mask; the new runtime expects none blocked.</summary>
    static void UnblockSignals()
    {
        var empty = new byte[128]; // sigset_t
        _ = pthread_sigmask(SIG_SETMASK, empty, IntPtr.Zero);
    }

    const int SIG_SETMASK = 2;

    [DllImport("libc", SetLastError = true)]
    static extern int execve(string path, string?[] argv, string?[] envp);

    [DllImport("libc")]
    static extern int pthread_sigmask(int how, byte[] set, IntPtr oldSet);
}
