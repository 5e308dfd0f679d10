using LlavaMod.Core;

namespace LlavaMod.Data.Images;

/// <summary>How the ETL stores an image's pixels. CLI names: keep, shortest-crop, pad-square, keep-ratio-largest.</summary>
public enum ResizeMode
{
    /// <summary>Store the original bytes when they are acceptable as they are; otherwise re-encode at the original size.</summary>
    Keep,
    /// <summary>CLIP preprocessing: shortest side to Size (bicubic), then centre crop Size×Size.</summary>
    ShortestCrop,
    /// <summary>LLaVA's expand2square: pad to a centred square with PadColor, then resize to Size×Size (bicubic).</summary>
    PadSquare,
    /// <summary>Largest side to Size keeping the aspect ratio (bicubic); never upscales.</summary>
    KeepRatioLargest,
}

/// <summary>The command-line spelling of <see cref="ResizeMode"/> values.</summary>
public static class ResizeModeNames
{
    static readonly (ResizeMode Mode, string Name)[] Names =
    [
        (ResizeMode.Keep, "keep"),
        (ResizeMode.ShortestCrop, "shortest-crop"),
        (ResizeMode.PadSquare, "pad-square"),
        (ResizeMode.KeepRatioLargest, "keep-ratio-largest"),
    ];

    /// <summary>All CLI names, in declaration order.</summary>
    public static IReadOnlyList<string> All { get; } = Names.Select(n => n.Name).ToArray();

    public static string ToCliName(this ResizeMode mode) =>
        Names.First(n => n.Mode == mode).Name;

    /// <summary>Parses a CLI name; throws <see cref="LlavaModException"/> listing the valid names otherwise.</summary>
    public static ResizeMode Parse(string name)
    {
        foreach (var (mode, n) in Names)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return mode;
        throw new LlavaModException($"unknown resize mode '{name}' (expected one of: {string.Join(", ", All)})");
    }
}
