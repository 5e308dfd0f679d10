using System.Text.RegularExpressions;

namespace LlavaMod.Data.Text;

/// <summary>
/// Qwen's pre-tokenizer pattern as written in its tokenizer.json (Rust regex syntax, which .NET
/// reads the same way). It matches as in Rust on text whose UTF-16 units are code points;
/// <see cref="QwenPreTokenizer"/> makes sure it is only run on such text.
/// </summary>
internal static class QwenPreTokenizerPattern
{
    /// <summary>The Split pattern as written in Qwen's tokenizer.json.</summary>
    public const string Original =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly Lazy<Regex> Compiled = new(() => new Regex(Original, RegexOptions.Compiled | RegexOptions.CultureInvariant));

    public static Regex Regex => Compiled.Value;
}
