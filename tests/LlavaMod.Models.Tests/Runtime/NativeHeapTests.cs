using System.Runtime.InteropServices;
using LlavaMod.Models.Runtime;

namespace LlavaMod.Models.Tests.Runtime;

/// <summary>Runs alone: it reads glibc's process-wide count of mapped blocks around an allocation.</summary>
[CollectionDefinition(nameof(NativeHeapTests), DisableParallelization = true)]
public sealed class NativeHeapCollection;

/// <summary>
/// After <see cref="TorchRuntime.EnsureLoaded"/> glibc serves blocks of up to 32 MB from its heap, where a freed block
/// is reused, instead of mapping each one and handing it back to the kernel when freed (<see cref="NativeHeap"/>).
/// glibc's own threshold is 128 kB at first and rises only to the size of a mapped block freed before, never above
/// 32 MB: without the setting a 31 MB block is a mapping of its own.
/// </summary>
[Collection(nameof(NativeHeapTests))]
public class NativeHeapTests
{
    const int Size = 31 << 20;

    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    static extern MallInfo2 GetMallInfo();

    [DllImport("libc", EntryPoint = "malloc")]
    static extern IntPtr Malloc(nuint size);

    [DllImport("libc", EntryPoint = "free")]
    static extern void Free(IntPtr block);

    [Fact]
    public void A_31_MB_block_comes_from_the_heap_not_a_mapping_of_its_own()
    {
        Assert.True(OperatingSystem.IsLinux(), "the settings are glibc's; the project's CI runs on Linux");
        TorchRuntime.EnsureLoaded();
        long mappedBefore = (long)GetMallInfo().HBlkHd;
        var block = Malloc(Size);
        Assert.NotEqual(IntPtr.Zero, block);
        long mappedWith = (long)GetMallInfo().HBlkHd;
        Free(block);
        // other threads (the GC's finalizer freeing tensors) may unmap blocks meanwhile, which only lowers the count
        Assert.True(mappedWith - mappedBefore < Size, $"a 31 MB block was mapped on its own ({mappedBefore} → {mappedWith} bytes in mapped blocks): glibc's defaults are in force");
    }
}
