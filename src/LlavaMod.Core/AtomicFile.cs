namespace LlavaMod.Core;

/// <summary>
/// Writes a file so that readers only ever see the complete old file or the complete new one:
/// the content goes to a temporary name beside the target, is flushed to disk (fsync), and is
/// then renamed over the target. A crash leaves at most a stray "*.tmp-*" file, never a half file.
/// </summary>
public static class AtomicFile
{
    public const string TempMarker = ".tmp-";

    /// <summary>Writes through <paramref name="write"/> into a temp file, fsyncs, renames.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write, CancellationToken ct = default)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string temp = TempPathFor(full);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await write(stream);
                await stream.FlushAsync(ct);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException io && DiskFull.Is(io)) throw new LlavaModException(DiskFull.Describe(full), e);
            throw;
        }
    }

    /// <summary>Synchronous variant of <see cref="WriteAsync"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TempPathFor(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException io && DiskFull.Is(io)) throw new LlavaModException(DiskFull.Describe(full), e);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true); w.Write(text); });

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Removes temp files left by a killed writer in <paramref name="directory"/>.</summary>
    public static int CleanStaleTempFiles(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        int n = 0;
        foreach (var f in Directory.EnumerateFiles(directory, $"*{TempMarker}*"))
        {
            TryDelete(f);
            n++;
        }
        return n;
    }

    static string TempPathFor(string full) =>
        $"{full}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";

    static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
