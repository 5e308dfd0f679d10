using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// How libtorch's bundled MKL runs the fp32 products it is given (every weight gradient ∂W = gᵀ · x, which
/// <see cref="OneDnnLinear"/> and autograd leave to BLAS, and the fp32 products oneDNN does not take):
/// <list type="bullet">
/// <item><b>One MKL thread on every torch thread</b> (<c>mkl_set_num_threads_local(1)</c>, exported as <c>MKL_Set_Num_Threads_Local</c>, set by
/// <see cref="TorchRuntime.SetThreads"/>). ∂W sums over the rows, and MKL's Intel code path splits that sum across its
/// threads for tall inputs, so two threads gave other bits than one (the embeddings of
/// <c>TrainingEndToEndTests.Sft_trains_the_same_weights_at_one_and_two_threads</c>); on one thread the bits no longer
/// depend on the thread count. torch's own kernels and oneDNN keep all threads.</item>
/// <item><b>The Intel code path on AMD processors.</b> MKL picks its kernels by vendor: on a non-Intel CPU it runs
/// its generic AVX2 kernels (<c>mkl_blas_def_sgemm_kernel_0_zen</c>, ~100 GFLOP/s on this machine's Zen 4 cores)
/// whatever the CPU supports. It asks <c>mkl_serv_intel_cpu_true</c>, which caches its answer in a static int
/// (-1 until asked); <see cref="Configure"/> stores 1 there before MKL's first call, the in-process form of the
/// well-known <c>LD_PRELOAD</c> shim that defines that function to return 1. MKL then dispatches on the CPU's
/// features as it does on Intel processors (AVX-512 on this Zen 4 machine; only Zen 4 was measured). The demo's pd
/// step, same build back to back: 0.0505 against 0.0596 CPU s (docs/benchmarks.md, "MKL's code path on AMD (session 13)"). Only done where the function's first
/// instructions are the expected load of that static (libtorch 2.10's MKL); otherwise MKL is left alone.
/// <c>LLAVAMOD_MKL_CODE_PATH=vendor</c> leaves it alone everywhere.</item>
/// </list>
/// </summary>
public static class MklDispatch
{
    /// <summary>Environment variable: <c>vendor</c> keeps MKL's own choice of kernels on non-Intel CPUs.</summary>
    public const string Variable = "LLAVAMOD_MKL_CODE_PATH";
    const string TorchCpuLibrary = "libtorch_cpu.so";

    /// <summary>What <see cref="Configure"/> did, printed by <c>llavamod version</c> and in every benchmark line.</summary>
    public static string State { get; private set; } = "not configured";

    static unsafe delegate* unmanaged<int, int> _setNumThreadsLocal;

    /// <summary>Called once, after libtorch is loaded and before any tensor work (<see cref="TorchRuntime.EnsureLoaded"/>).</summary>
    internal static unsafe void Configure()
    {
        bool keepVendorChoice = Environment.GetEnvironmentVariable(Variable) switch
        {
            null or "" => false,
            "vendor" => true,
            var value => throw new LlavaMod.Core.LlavaModException($"{Variable}={value}: the only value is 'vendor' (keep MKL's own choice of kernels on AMD CPUs); unset it for the default"),
        };
        if (!OperatingSystem.IsLinux() || !X86Base.IsSupported) { State = "MKL as shipped (not x86-64 Linux)"; return; }
        if (MappedLibraries.Find(TorchCpuLibrary) is not { } path || !NativeLibrary.TryLoad(path, out var library)) { State = "MKL not found"; return; }
        if (NativeLibrary.TryGetExport(library, "MKL_Set_Num_Threads_Local", out var setLocal))
            _setNumThreadsLocal = (delegate* unmanaged<int, int>)setLocal;
        string vendor = CpuVendor();
        if (vendor == "GenuineIntel") { State = "MKL's Intel code path (Intel CPU)"; return; }
        if (vendor != "AuthenticAMD") { State = $"MKL as shipped ({vendor} CPU)"; return; }
        if (keepVendorChoice) { State = $"MKL's generic code path ({Variable}=vendor)"; return; }
        if (!NativeLibrary.TryGetExport(library, "mkl_serv_intel_cpu_true", out var function))
        {
            State = "MKL as shipped (mkl_serv_intel_cpu_true not found)";
            return;
        }
        // mov eax, [rip + rel32]; test eax, eax; js … — the cached answer, negative until computed
        byte* code = (byte*)function;
        if (code[0] != 0x8B || code[1] != 0x05 || code[6] != 0x85 || code[7] != 0xC0 || code[8] != 0x78)
        {
            State = "MKL as shipped (unrecognised mkl_serv_intel_cpu_true)";
            return;
        }
        int* cached = (int*)(code + 6 + *(int*)(code + 2));
        if (*cached >= 0 && *cached != 1) { State = "MKL as shipped (its CPU check already ran)"; return; }
        *cached = 1;
        State = "MKL's Intel code path (AMD CPU, vendor check answered)";
    }

    /// <summary>One MKL thread for the calling thread's BLAS calls (see the class summary).</summary>
    internal static unsafe void OneThreadForBlas()
    {
        if (_setNumThreadsLocal != null) _setNumThreadsLocal(1);
    }

    /// <summary>CPUID leaf 0's vendor string: GenuineIntel, AuthenticAMD, ….</summary>
    public static string CpuVendor()
    {
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        return System.Text.Encoding.ASCII.GetString(MemoryMarshal.AsBytes(vendor));
    }
}
