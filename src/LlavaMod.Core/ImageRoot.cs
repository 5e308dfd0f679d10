namespace LlavaMod.Core;

/// <summary>What <see cref="ImageRoot.Locate"/> found for a stored image path.</summary>
public enum RootedPathStatus { Found, Missing, OutsideRoot }

/// <summary>
/// The one resolver of image paths under an image root, used by every verb that takes one (shard,
/// pairs reference/export/show/serve, the pd stage): a path is taken under the root, then every
/// symbolic link on the way (folders and the file itself) is followed, and whatever finally lies
/// outside the root is refused, so neither "../" nor a link planted in the image folder can pull an
/// arbitrary local file into shards, exports or the web page. The root itself may be a link.
/// </summary>
public sealed class ImageRoot
{
    /// <summary>The root, absolute, with a trailing separator.</summary>
    public string Root { get; }
    /// <summary>Where the root itself leads when it is a symbolic link (else the root).</summary>
    readonly string _realRoot;

    public ImageRoot(string root)
    {
        Root = WithSeparator(Path.GetFullPath(root));
        var dir = new DirectoryInfo(Root.TrimEnd(Path.DirectorySeparatorChar));
        var target = dir.Exists ? dir.ResolveLinkTarget(returnFinalTarget: true) : null; // a missing root finds nothing
        _realRoot = target is null ? Root : WithSeparator(Path.GetFullPath(target.FullName));
    }

    /// <summary>Resolves <paramref name="stored"/> (relative to the root, or absolute) to a file inside the root.</summary>
    public (RootedPathStatus Status, string FullPath) Locate(string stored)
    {
        string full = Path.GetFullPath(Path.Combine(Root, stored));
        if (!Inside(full)) return (RootedPathStatus.OutsideRoot, full);
        if (!File.Exists(full)) return (RootedPathStatus.Missing, full);
        return LeavesRoot(full) ? (RootedPathStatus.OutsideRoot, full) : (RootedPathStatus.Found, full);
    }

    /// <summary>
    /// The file a stored image path names, or null when it does not exist. Without a root the path is
    /// taken as it is; with one it goes through <see cref="Locate"/>, and a path that leaves the root is
    /// an error naming <paramref name="owner"/> (the pair or row that stored it).
    /// </summary>
    public static string? FindFile(string? root, string stored, string owner)
    {
        if (root is null) return File.Exists(stored) ? Path.GetFullPath(stored) : null;
        var (status, full) = new ImageRoot(root).Locate(stored);
        return status switch
        {
            RootedPathStatus.Found => full,
            RootedPathStatus.Missing => null,
            _ => throw new LlavaModException($"{owner}: image path '{stored}' leads outside the image root {root} ({full}, through '..', an absolute path or a symbolic link); refused"),
        };
    }

    static string WithSeparator(string path) => Path.EndsInDirectorySeparator(path) ? path : path + Path.DirectorySeparatorChar;

    /// <summary>Whether a symbolic link on the way from the root to <paramref name="full"/> finally leads outside the root.</summary>
    bool LeavesRoot(string full)
    {
        string root = full.StartsWith(Root, StringComparison.Ordinal) ? Root : _realRoot;
        string[] parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        string path = root.TrimEnd(Path.DirectorySeparatorChar);
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
