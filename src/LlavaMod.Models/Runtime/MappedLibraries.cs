namespace LlavaMod.Models.Runtime;

/// <summary>The files this process has mapped (its shared libraries), read from /proc/self/maps.</summary>
internal static class MappedLibraries
{
    /// <summary>The path of the first mapped file whose name starts with <paramref name="fileNamePrefix"/>
    /// (libjemalloc, libstdc++.so, libtorch_cpu.so); null when none is, off Linux, or where /proc cannot be read
    /// (a bare container).</summary>
    public static string? Find(string fileNamePrefix)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                string path = line[slash..].Trim();
                if (Path.GetFileName(path).StartsWith(fileNamePrefix, StringComparison.Ordinal)) return path;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }
}
