using System.Runtime.InteropServices;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// glibc malloc settings for libtorch's CPU tensors, which it allocates with plain <c>posix_memalign</c>. glibc's
/// defaults hand every block above a threshold (128 kB at first, rising with use) back to the kernel when freed and trim
/// the heap's free top beyond twice that, so a training step's many transient tensors of 1–32 MB (a vocabulary chunk's
/// logits, a layer's activations and gradients) come back as fresh pages the next step and page-fault on first touch:
/// 3.1 million minor faults and 4.8 s of system time in a 12-step run of the 42.8 M benchmark in bf16, and steps that
/// alternate between 0.72 and 1.25 s (docs/benchmarks.md, "The native heap"). The settings: blocks up to 32 MB (glibc's
/// largest allowed mmap threshold) come from the heap, and the heap keeps up to 1 GB of free top instead of trimming it.
/// Freed memory is reused rather than refaulted; larger blocks (a 155 MB embedding gradient) are still mapped and
/// returned as before. This is the page-fault problem that PyTorch's CPU performance guide answers with jemalloc or
/// TCMalloc, solved with glibc's own knobs (<c>mallopt</c>, the same settings as the environment variables
/// <c>MALLOC_MMAP_THRESHOLD_</c> and <c>MALLOC_TRIM_THRESHOLD_</c>). A user who sets either variable keeps their own.
/// </summary>
public static class NativeHeap
{
    /// <summary>Blocks up to this size come from the heap: glibc's upper bound for the threshold on 64-bit (HEAP_MAX_SIZE / 2).</summary>
    public const int MmapThreshold = 32 << 20;

    /// <summary>Free memory the heap keeps at its top before returning it.</summary>
    public const int TrimThreshold = 1 << 30;

    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int param, int value);

    /// <summary>Applies the settings once per process on glibc Linux; whether they are in force.</summary>
    public static bool Configure()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null)
            return false;
        try
        {
            return MallOpt(M_MMAP_THRESHOLD, MmapThreshold) == 1 && MallOpt(M_TRIM_THRESHOLD, TrimThreshold) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false; // not glibc (musl has no mallopt): its allocator's own defaults stay
        }
    }
}
