using System.Runtime.InteropServices;
using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Runtime;

/// <summary>
/// The one entry point to TorchSharp's native code. Call <see cref="EnsureLoaded"/> before any
/// tensor work (every command and test that uses torch does): it sets glibc's malloc up for
/// tensors (<see cref="NativeHeap"/>), and on hosts whose libstdc++ lacks GLIBCXX_3.4.32
/// (Debian 12, Ubuntu 22.04) it first patches libLibTorchSharp.so in the application folder
/// (see <see cref="ElfVersionPatch"/>).
/// </summary>
public static class TorchRuntime
{
    const string MissingVersion = "GLIBCXX_3.4.32";
    const string LibraryFile = "libLibTorchSharp.so";
    static readonly object Gate = new();
    static bool _loaded;

    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            NativeHeap.Configure();
            if (OperatingSystem.IsLinux() && !HostLibStdCxxHas(MissingVersion))
                PatchTorchSharpLibrary();
            try
            {
                // First native call: loads LibTorchSharp and libtorch.
                _ = torch.cuda.is_available();
                MklDispatch.Configure();
            }
            catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
            {
                throw new LlavaModException(
                    "TorchSharp's native library failed to load. Check that the TorchSharp backend package " +
                    "(TorchSharp-cpu or TorchSharp-cuda-linux) is referenced and run 'ldd -v' on " +
                    $"{LibraryFile} in the application folder to see which dependency is missing. ({e.Message})", e);
            }
            _loaded = true;
        }
    }

    /// <summary>The torch device of a request; auto picks CUDA when present.</summary>
    public static Device ResolveDevice(DeviceRequest request)
    {
        EnsureLoaded();
        return request.Kind switch
        {
            DeviceKind.Auto => torch.cuda.is_available() ? CUDA : CPU,
            DeviceKind.Cpu => CPU,
            _ when !torch.cuda.is_available() =>
                throw new LlavaModException($"--device {request}: CUDA is not available on this machine (this build uses the {BackendDescription} backend). Use --device cpu or auto."),
            _ => request.Index < 0 ? CUDA : torch.device(DeviceType.CUDA, request.Index),
        };
    }

    /// <summary>Sets torch's intra-op threads; 0 means one per core.</summary>
    public static void SetThreads(int threads)
    {
        EnsureLoaded();
        torch.set_num_threads(threads > 0 ? threads : Environment.ProcessorCount);
        MklDispatch.OneThreadForBlas(); // ∂W's bits independent of the thread count (see MklDispatch)
    }

    public static string BackendDescription => torch.cuda.is_available() ? "CUDA" : "CPU";

    static bool HostLibStdCxxHas(string version)
    {
        string? path = MappedLibraries.Find("libstdc++.so") ?? FindSystemLibStdCxx();
        if (path is null) return true; // nothing to compare with: leave the library alone
        return ElfVersionPatch.Mentions(File.ReadAllBytes(path), version);
    }

    static string? FindSystemLibStdCxx()
    {
        string arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64" : "x86_64";
        foreach (var candidate in new[] { $"/usr/lib/{arch}-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    static void PatchTorchSharpLibrary()
    {
        foreach (var path in CandidateLibraryPaths().Where(File.Exists))
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (ElfVersionPatch.MarkVersionWeak(bytes, MissingVersion) == 0) continue;
            try
            {
                AtomicFile.WriteAllBytes(path, bytes);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new LlavaModException(
                    $"{path}: this host's libstdc++ lacks {MissingVersion} and the library must be patched once, " +
                    "but the folder is read-only. Run llavamod once from a writable install (or as its owner).", e);
            }
        }
    }

    static IEnumerable<string> CandidateLibraryPaths()
    {
        string baseDir = AppContext.BaseDirectory;
        yield return Path.Combine(baseDir, LibraryFile);
        yield return Path.Combine(baseDir, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", LibraryFile);
        yield return Path.Combine(baseDir, "runtimes", "linux-x64", "native", LibraryFile);
    }
}
