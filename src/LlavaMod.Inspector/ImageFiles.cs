using Microsoft.AspNetCore.StaticFiles;
using SixLabors.ImageSharp;

namespace LlavaMod.Inspector;

/// <summary>Resolves a pair's stored image path to a file inside the image root. Relative paths are
/// taken under the root; absolute paths and symbolic links (of folders on the way and of the file) are
/// followed, and anything that ends up outside the root, or is not an image type, is refused (null).
/// The root itself may be a link.</summary>
public sealed class ImageFiles
{
    static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>The image root, absolute, with a trailing separator.</summary>
    public string Root { get; }

    /// <summary>Where the root itself leads when it is a symbolic link (else the root).</summary>
    readonly string _realRoot;

    public ImageFiles(string root)
    {
        Root = WithSeparator(Path.GetFullPath(root));
        var target = new DirectoryInfo(Root.TrimEnd(Path.DirectorySeparatorChar)).ResolveLinkTarget(returnFinalTarget: true);
        _realRoot = target is null ? Root : WithSeparator(Path.GetFullPath(target.FullName));
    }

    static string WithSeparator(string path) => Path.EndsInDirectorySeparator(path) ? path : path + Path.DirectorySeparatorChar;

    /// <summary>The file and its content type, or null when the path escapes the root, the file is
    /// missing or its extension is not an image type.</summary>
    public (string File, string ContentType)? Resolve(string? storedPath)
    {
        if (string.IsNullOrWhiteSpace(storedPath) || storedPath.Contains('\0')) return null;
        string full = Path.GetFullPath(Path.Combine(Root, storedPath));
        if (!Inside(full) || !File.Exists(full) || LeavesRoot(full)) return null;
        if (!ContentTypes.TryGetContentType(full, out var type) || !type.StartsWith("image/", StringComparison.Ordinal)) return null;
        return (full, type);
    }

    /// <summary>Width and height read from the image header, or null when the file is not a readable image.</summary>
    public static (int Width, int Height)? Size(string file)
    {
        try
        {
            // ImageSharp 2 answers null (rather than throwing) for a format it does not know.
            IImageInfo? info = Image.Identify(file);
            return info is null ? null : (info.Width, info.Height);
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or IOException)
        {
            return null;
        }
    }

    /// <summary>Whether a symbolic link on the way from the root to <paramref name="full"/> (a folder or
    /// the file itself) finally leads outside the root.</summary>
    bool LeavesRoot(string full)
    {
        string[] parts = full[Root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        string path = Root.TrimEnd(Path.DirectorySeparatorChar);
        for (int i = 0; i < parts.Length; i++)
        {
            path = Path.Combine(path, parts[i]);
            FileSystemInfo entry = i == parts.Length - 1 ? new FileInfo(path) : new DirectoryInfo(path);
            if (entry.LinkTarget is null) continue;
            var target = entry.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !Inside(Path.GetFullPath(target.FullName))) return true;
        }
        return false;
    }

    bool Inside(string full) =>
        full.StartsWith(Root, StringComparison.Ordinal) || full.StartsWith(_realRoot, StringComparison.Ordinal);
}
