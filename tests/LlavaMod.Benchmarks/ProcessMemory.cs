using System.Globalization;

namespace LlavaMod.Benchmarks;

/// <summary>The process's peak resident memory as Linux reports it (VmHWM of /proc/self/status).</summary>
public static class ProcessMemory
{
    /// <summary>The most resident memory the process has had, in MB (NaN where /proc is missing).</summary>
    public static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }
}
