using Microsoft.AspNetCore.StaticFiles;
using LlavaMod.Core;
using SixLabors.ImageSharp;

namespace LlavaMod.Inspector;

/// <summary>Resolves a pair's stored image path to an image file inside the image root (through the
/// shared <see cref="ImageRoot"/> resolver: links that leave the root are refused), or null when it
/// escapes the root, is missing or its extension is not an image type.</summary>
public sealed class ImageFiles
{
    static readonly FileExtensionContentTypeProvider ContentTypes = new();
    readonly ImageRoot _root;

    public ImageFiles(string root) => _root = new ImageRoot(root);

    /// <summary>The image root, absolute, with a trailing separator.</summary>
    public string Root => _root.Root;

    /// <summary>The file and its content type, or null when the path escapes the root, the file is
    /// missing or its extension is not an image type.</summary>
    public (string File, string ContentType)? Resolve(string? storedPath)
    {
        if (string.IsNullOrWhiteSpace(storedPath) || storedPath.Contains('\0')) return null;
        var (status, full) = _root.Locate(storedPath);
        if (status != RootedPathStatus.Found) return null;
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
}
