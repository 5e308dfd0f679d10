namespace LlavaMod.Core;

/// <summary>
/// An error the user can act on: it names the file (and row, when there is one) and the reason,
/// and, where possible, what to do about it. The CLI prints its message without a stack trace.
/// </summary>
public class LlavaModException : Exception
{
    public LlavaModException(string message, Exception? inner = null) : base(message, inner) { }

    public static LlavaModException ForFile(string path, string reason, Exception? inner = null) =>
        new($"{path}: {reason}", inner);

    public static LlavaModException ForRow(string path, long row, string reason, Exception? inner = null) =>
        new($"{path}, row {row}: {reason}", inner);
}
