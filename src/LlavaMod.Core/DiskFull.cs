namespace LlavaMod.Core;

/// <summary>
/// Recognises "no space left on the device" (and an exceeded disk quota) in an I/O error and turns it
/// into the one line the user needs: which file was being written and that rerunning continues. Every
/// verb writes finished files atomically and skips them when rerun, so a full disk loses only the file
/// in progress.
/// </summary>
public static class DiskFull
{
    // errno values .NET puts in IOException.HResult on Unix, and the Win32 codes as HRESULTs.
    const int Enospc = 28, Edquot = 122;
    const int ErrorDiskFull = unchecked((int)0x80070070), ErrorHandleDiskFull = unchecked((int)0x80070027);

    public static bool Is(Exception e) =>
        e is IOException { HResult: Enospc or Edquot or ErrorDiskFull or ErrorHandleDiskFull };

    /// <summary>The disk-full error inside <paramref name="e"/> (itself, an inner or an aggregated exception), or null.</summary>
    public static IOException? Find(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (Is(e)) return (IOException)e;
            if (e is AggregateException a)
                foreach (var inner in a.InnerExceptions)
                    if (Find(inner) is { } found) return found;
        }
        return null;
    }

    /// <summary>The user-facing line for a full disk while writing <paramref name="file"/>.</summary>
    public static string Describe(string file, long? bytesToWrite = null) =>
        $"{file}: no space left on the device{(bytesToWrite is long n ? $" (writing {n:N0} bytes)" : "")}; " +
        "free space, then rerun the same command (shard and train with --resume): finished files are kept and the work continues from there";

    /// <summary>The file a disk-full I/O error names ('…' in .NET's message), with the atomic writer's temp suffix removed.</summary>
    public static string? FileOf(IOException e)
    {
        int end = e.Message.LastIndexOf('\'');
        int start = end > 0 ? e.Message.LastIndexOf('\'', end - 1) : -1;
        if (start < 0) return null;
        string file = e.Message[(start + 1)..end];
        int temp = file.IndexOf(AtomicFile.TempMarker, StringComparison.Ordinal);
        return temp > 0 ? file[..temp] : file;
    }
}
