namespace LlavaMod.Core;

/// <summary>
/// An exclusive lock on an output (a folder or a file), held while a process writes it, so that
/// two processes started with the same output (two workers given the same index, a job requeued
/// while the old one still runs) cannot interleave their writes: the second stops with one line.
/// The kernel drops the lock when the holder dies, even by SIGKILL, so a killed worker's restart
/// is never blocked. The lock file stays (removing it would race with the next holder).
/// Local and cluster file systems with POSIX locks (ext4, xfs, Lustre, NFSv4) honour it.
/// </summary>
public sealed class OutputLock : IDisposable
{
    public const string FolderLockName = ".llavamod.lock";

    readonly FileStream _stream;

    OutputLock(FileStream stream) => _stream = stream;

    /// <summary>Locks the folder <paramref name="dir"/> (creating it).</summary>
    public static OutputLock ForFolder(string dir)
    {
        Directory.CreateDirectory(dir);
        return Acquire(Path.Combine(dir, FolderLockName), dir);
    }

    /// <summary>Locks the file <paramref name="path"/> through PATH.lock beside it.</summary>
    public static OutputLock ForFile(string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return Acquire(full + ".lock", path);
    }

    static OutputLock Acquire(string lockPath, string output)
    {
        try
        {
            // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Unix.
            return new OutputLock(new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (!DiskFull.Is(e))
        {
            throw LlavaModException.ForFile(output, "is being written by another llavamod process (two workers with the same index?); wait for it or choose another output", e);
        }
    }

    public void Dispose() => _stream.Dispose();
}
