namespace LlavaMod.Core;

/// <summary>File steps shared by the merges of worker outputs.</summary>
public static class MergeOutput
{
    /// <summary>A merge writes a new output; writing into a worker's own would mix the two.</summary>
    public static void RequireNotAnInput(string output, IEnumerable<string> inputs)
    {
        string full = Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar);
        foreach (var input in inputs)
            if (Path.GetFullPath(input).TrimEnd(Path.DirectorySeparatorChar) == full)
                throw LlavaModException.ForFile(output, "is one of the worker outputs being merged; choose a new --out");
    }

    /// <summary>Copies a finished worker file atomically, refusing one whose sha256 is not the recorded one.</summary>
    public static void CopyChecked(string source, string target, string sha256)
    {
        string actual = Hashing.Sha256OfFile(source);
        if (actual != sha256)
            throw LlavaModException.ForFile(source, $"sha256 {actual[..12]}… is not the {sha256[..Math.Min(12, sha256.Length)]}… its worker recorded: the file changed or is damaged; rerun that worker into an empty folder");
        AtomicFile.Write(target, stream =>
        {
            using var input = File.OpenRead(source);
            input.CopyTo(stream);
        });
    }
}
