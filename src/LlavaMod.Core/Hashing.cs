using System.Security.Cryptography;

namespace LlavaMod.Core;

/// <summary>SHA-256 fingerprints, always as lowercase hex.</summary>
public static class Hashing
{
    public static string Sha256Hex(ReadOnlySpan<byte> data) =>
        Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Sha256Hex(string text) =>
        Sha256Hex(System.Text.Encoding.UTF8.GetBytes(text));

    public static string Sha256OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>One fingerprint for several files: sha256 over "name\0sha256\n" lines in the given order.</summary>
    public static string Sha256OfFiles(IEnumerable<string> paths)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var p in paths)
            sb.Append(Path.GetFileName(p)).Append('\0').Append(Sha256OfFile(p)).Append('\n');
        return Sha256Hex(sb.ToString());
    }
}
