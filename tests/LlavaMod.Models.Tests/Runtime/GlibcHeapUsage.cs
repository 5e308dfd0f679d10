using System.Runtime.InteropServices;

namespace LlavaMod.Models.Tests.Runtime;

/// <summary>glibc's count of the bytes malloc has handed out (libtorch's CPU tensors are malloc'ed), for memory tests.</summary>
public static class GlibcHeapUsage
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    static extern MallInfo2 NativeMallInfo2();

    /// <summary>Bytes in use: chunks of every arena plus mmap'ed blocks (counted exactly).</summary>
    public static long InUseBytes()
    {
        var info = NativeMallInfo2();
        return (long)info.Uordblks + (long)info.Hblkhd;
    }
}
