namespace LlavaMod.Data.Sources;

/// <summary>How far the readers are into the current input file, in bytes (for progress and ETA). Thread-safe.</summary>
public sealed class ReadPosition
{
    long _bytes;
    public long Bytes => Interlocked.Read(ref _bytes);
    public void Set(long bytes) => Interlocked.Exchange(ref _bytes, bytes);
}
