using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LlavaMod.Data.Text;

/// <summary>
/// Qwen's pre-tokenizer pattern, made to behave in .NET as it does in Hugging Face's Rust
/// tokenizer. Rust matches code points; .NET matches UTF-16 units, so there <c>\p{L}</c> and
/// <c>\p{N}</c> miss letters and digits outside the BMP (CJK Extension B+, math alphanumerics, …) and
/// <c>[^…]</c> takes half an emoji. This builds the same pattern with those classes widened by the
/// surrogate pairs of the astral letters and numbers (categories from the runtime's Unicode data).
/// </summary>
internal static class QwenPreTokenizerPattern
{
    /// <summary>The Split pattern as written in Qwen's tokenizer.json (Rust regex syntax).</summary>
    public const string Original =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly Lazy<Regex> Compiled = new(() => new Regex(Build(), RegexOptions.Compiled | RegexOptions.CultureInvariant));

    public static Regex Regex => Compiled.Value;

    internal static string Build()
    {
        string astralLetter = AstralClass(IsLetter);
        string astralNumber = AstralClass(IsNumber);
        const string anyPair = @"[\uD800-\uDBFF][\uDC00-\uDFFF]";
        string letter = $@"(?:\p{{L}}|{astralLetter})";
        string number = $@"(?:\p{{N}}|{astralNumber})";
        // One code point that is not a letter/number (and, per class, not CR/LF or not whitespace).
        string otherPair = $@"(?!{astralLetter}|{astralNumber}){anyPair}";
        const string loneSurrogate = @"[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]";
        string notLetterNumberNewline = $@"(?:[^\r\n\p{{L}}\p{{N}}\uD800-\uDFFF]|{otherPair}|{loneSurrogate})";
        string notSpaceLetterNumber = $@"(?:[^\s\p{{L}}\p{{N}}\uD800-\uDFFF]|{otherPair}|{loneSurrogate})";
        return $@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|{notLetterNumberNewline}?{letter}+|{number}| ?{notSpaceLetterNumber}+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    }

    static bool IsLetter(UnicodeCategory c) => c is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
        or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;

    static bool IsNumber(UnicodeCategory c) => c is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
        or UnicodeCategory.OtherNumber;

    /// <summary>Alternation of surrogate pairs for the astral code points whose category matches.</summary>
    static string AstralClass(Func<UnicodeCategory, bool> wanted)
    {
        var parts = new List<string>();
        int fullStart = -1;
        for (int high = 0xD800; high <= 0xDBFF; high++)
        {
            var ranges = new List<(int From, int To)>();
            int start = -1;
            for (int low = 0xDC00; low <= 0xE000; low++)
            {
                bool hit = low <= 0xDFFF && wanted(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32((char)high, (char)low)));
                if (hit && start < 0) start = low;
                else if (!hit && start >= 0)
                {
                    ranges.Add((start, low - 1));
                    start = -1;
                }
            }
            bool full = ranges.Count == 1 && ranges[0] == (0xDC00, 0xDFFF);
            if (full)
            {
                if (fullStart < 0) fullStart = high;
                continue;
            }
            if (fullStart >= 0)
            {
                parts.Add($@"[{U(fullStart)}-{U(high - 1)}][\uDC00-\uDFFF]");
                fullStart = -1;
            }
            if (ranges.Count == 0) continue;
            var cls = new StringBuilder();
            foreach (var (from, to) in ranges) cls.Append(from == to ? U(from) : $"{U(from)}-{U(to)}");
            parts.Add($"{U(high)}[{cls}]");
        }
        if (fullStart >= 0) parts.Add($@"[{U(fullStart)}-\uDBFF][\uDC00-\uDFFF]");
        return parts.Count == 0 ? "(?!)" : "(?:" + string.Join("|", parts) + ")";
    }

    static string U(int unit) => $@"\u{unit:X4}";
}
