using Microsoft.AspNetCore.StaticFiles;
using SixLabors.ImageSharp;

namespace LlavaMod.Inspector;

/// <summary>Resolves a pair's stored image path to a file inside the image root. Relative paths are
/// taken under the root; absolute paths and symbolic links are followed, and anything that ends up
/// outside the root, or is not an image type, is refused (null).</summary>
public sealed class ImageFiles
{
    static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>The image root, absolute, with a trailing separator.</summary>
    public string Root { get; }

    public ImageFiles(string root)
    {
        string full = Path.GetFullPath(root);
        Root = Path.EndsInDirectorySeparator(full) ? full : full + Path.DirectorySeparatorChar;
    }

    /// <summary>The file and its content type, or null when the path escapes the root, the file is
    /// missing or its extension is not an image type.</summary>
    public (string File, string ContentType)? Resolve(string? storedPath)
    {
        if (string.IsNullOrWhiteSpace(storedPath) || storedPath.Contains('\0')) return null;
        string full = Path.GetFullPath(Path.Combine(Root, storedPath));
        if (!Inside(full) || !File.Exists(full)) return null;
        // A link inside the root may point anywhere: check where it finally leads.
        var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
        if (target is not null && !Inside(Path.GetFullPath(target.FullName))) return null;
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

    bool Inside(string full) => full.StartsWith(Root, StringComparison.Ordinal);
}
