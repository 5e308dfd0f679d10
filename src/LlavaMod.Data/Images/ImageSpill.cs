using LlavaMod.Core;
using Microsoft.Win32.SafeHandles;

namespace LlavaMod.Data.Images;

/// <summary>
/// A scratch file of image bytes copied out of data shards, read back by offset (positioned reads,
/// safe from any thread). It has no name once created (unlinked at once where the OS allows, else
/// deleted on close), so nothing is left behind, even by a killed run.
/// </summary>
sealed class ImageSpill : IDisposable
{
    readonly string _path;
    readonly SafeFileHandle _handle;
    long _length;

    ImageSpill(string path, SafeFileHandle handle) => (_path, _handle) = (path, handle);

    /// <summary>Bytes written so far.</summary>
    public long Length => _length;

    public static ImageSpill Create(string dir)
    {
        string path = Path.Combine(dir, $".pair-images-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
                OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None);
            if (!OperatingSystem.IsWindows()) File.Delete(path);
            return new ImageSpill(path, handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw LlavaModException.ForFile(dir, $"cannot make the scratch file for the pairs' images there ({e.Message})", e);
        }
    }

    /// <summary>Appends the bytes; returns where they lie.</summary>
    public long Append(byte[] bytes)
    {
        long offset = _length;
        try { RandomAccess.Write(_handle, bytes, offset); }
        catch (IOException e) { throw LlavaModException.ForFile(_path, $"cannot write the pairs' images to the scratch file ({e.Message}); free space in {Path.GetDirectoryName(_path)}", e); }
        _length += bytes.Length;
        return offset;
    }

    public byte[] Read(long offset, int length)
    {
        var bytes = new byte[length];
        int read = 0;
        while (read < length)
        {
            int n = RandomAccess.Read(_handle, bytes.AsSpan(read), offset + read);
            if (n == 0) throw LlavaModException.ForFile(_path, $"scratch file ends before byte {offset + length}");
            read += n;
        }
        return bytes;
    }

    public void Dispose() => _handle.Dispose();
}
