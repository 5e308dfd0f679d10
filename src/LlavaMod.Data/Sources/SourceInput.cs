using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>One input file with its format and the folders its relative image paths resolve against.</summary>
public sealed record SourceInput(string Path, SourceFormat Format, IReadOnlyList<string> ImageRoots)
{
    /// <summary>
    /// Expands globs (wildcards in the file-name part, e.g. "data/part-*.jsonl"; matches sorted
    /// ordinally so runs are reproducible) and detects each file's format unless one is forced.
    /// </summary>
    public static IReadOnlyList<SourceInput> Resolve(IEnumerable<string> patterns, SourceFormat? forced, IReadOnlyList<string> imageRoots)
    {
        var inputs = new List<SourceInput>();
        foreach (string pattern in patterns)
        {
            foreach (string file in ExpandGlob(pattern))
                inputs.Add(new SourceInput(file, forced ?? SourceFormats.Detect(file), imageRoots));
        }
        if (inputs.Count == 0) throw new LlavaModException("no input files: pass --input FILE (globs allowed) or --source MANIFEST");
        return inputs;
    }

    public static IReadOnlyList<string> ExpandGlob(string pattern)
    {
        string full = System.IO.Path.GetFullPath(pattern);
        string name = System.IO.Path.GetFileName(full);
        if (name.IndexOfAny(['*', '?']) < 0)
        {
            if (!File.Exists(full)) throw LlavaModException.ForFile(pattern, "input file not found");
            return [full];
        }
        string dir = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw LlavaModException.ForFile(pattern, $"folder {dir} not found");
        var matches = Directory.EnumerateFiles(dir, name).Order(StringComparer.Ordinal).ToArray();
        if (matches.Length == 0) throw LlavaModException.ForFile(pattern, "glob matches no file");
        return matches;
    }

    /// <summary>
    /// Resolves a relative image path against the image roots (the input's folder when none are
    /// given); the first root that has it wins. Absolute paths, paths that climb out of the root
    /// ("../") and symbolic links that lead out of it are refused (<see cref="ImageRoot"/>), so an
    /// annotation file or a planted link cannot pull arbitrary local files into the shards.
    /// </summary>
    public string? FindImage(string relative)
    {
        if (System.IO.Path.IsPathRooted(relative))
            throw new RowRejectedException(ImagePathOutsideRoot, $"image path '{relative}' is absolute; image paths must be relative to --image-root");
        foreach (string root in Roots())
        {
            var (status, full) = new ImageRoot(root).Locate(relative);
            if (status == RootedPathStatus.OutsideRoot)
                throw new RowRejectedException(ImagePathOutsideRoot, $"image path '{relative}' leads outside the image root {root} ({full}, through '..' or a symbolic link)");
            if (status == RootedPathStatus.Found) return full;
        }
        return null;
    }

    /// <summary>The image roots, or the input's own folder when none are given.</summary>
    public IReadOnlyList<string> Roots() =>
        ImageRoots.Count > 0 ? ImageRoots : [System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!];

    public const string ImagePathOutsideRoot = "image_path_outside_root";
}
