using LlavaMod.Core;
using static TorchSharp.torch;

namespace LlavaMod.Models.Runtime;

/// <summary>Where a model runs: <see cref="Auto"/> picks CUDA when this build and machine have it.</summary>
public enum DeviceKind { Auto, Cpu, Cuda }

/// <summary>A device as the user names it ("auto", "cpu", "cuda", "cuda:N"), parsed once at the edge.
/// <paramref name="Index"/> is the CUDA device number, −1 for plain "cuda" (torch's current device).</summary>
public readonly record struct DeviceRequest(DeviceKind Kind, int Index = -1)
{
    public static readonly DeviceRequest Auto = new(DeviceKind.Auto);
    public static readonly DeviceRequest Cpu = new(DeviceKind.Cpu);

    /// <summary>Parses a device name; anything else is a user error naming <paramref name="source"/>.</summary>
    public static DeviceRequest Parse(string name, string source)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "auto") return Auto;
        if (n == "cpu") return Cpu;
        if (n == "cuda") return new DeviceRequest(DeviceKind.Cuda);
        if (n.StartsWith("cuda:") && int.TryParse(n[5..], out int index) && index >= 0) return new DeviceRequest(DeviceKind.Cuda, index);
        throw new LlavaModException($"{source} {name}: expected auto, cpu, cuda or cuda:N");
    }

    public override string ToString() => Kind switch
    {
        DeviceKind.Cuda => Index < 0 ? "cuda" : $"cuda:{Index}",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// How a verb runs its model, parsed once where the user gave it (command line or stage config):
/// the device, torch's CPU threads (0 = one per core) and the compute precision.
/// </summary>
public sealed record RuntimeOptions(DeviceRequest Device, int Threads = 0, ComputePrecision Precision = ComputePrecision.Fp32)
{
    public static readonly RuntimeOptions Default = new(DeviceRequest.Auto);

    /// <summary>Sets torch's threads and resolves the device (a clear error when CUDA is asked for and absent).</summary>
    public Device Apply()
    {
        if (Threads < 0) throw new LlavaModException($"--threads {Threads}: must be ≥ 0 (0 = one per core)");
        TorchRuntime.SetThreads(Threads);
        return TorchRuntime.ResolveDevice(Device);
    }
}
