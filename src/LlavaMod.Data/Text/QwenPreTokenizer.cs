using System.Buffers;
using System.Globalization;
using Microsoft.ML.Tokenizers;

namespace LlavaMod.Data.Text;

/// <summary>
/// Qwen's pre-tokenizer for <see cref="BpeTokenizer"/>, splitting as Hugging Face's Rust regex does.
/// Rust matches code points, .NET matches UTF-16 units, so <c>\p{L}</c> and <c>\p{N}</c> would miss
/// letters and digits outside the BMP and <c>[^…]</c> would take half an emoji. Text without
/// surrogates (UTF-16 units are then code points) goes straight to the library's
/// <see cref="RegexPreTokenizer"/> with the pattern as written. Other text is matched on a stand-in
/// with one unit per code point: each astral code point becomes a BMP character of the same class
/// for the pattern (letter 'x', digit '0', other '#'), and the matches are mapped back to offsets in
/// the original text. Added tokens are not looked for here: <see cref="QwenTokenizer"/> cuts them out
/// before normalisation, as Hugging Face does.
/// </summary>
internal sealed class QwenPreTokenizer : PreTokenizer
{
    public static readonly QwenPreTokenizer Instance = new();

    readonly RegexPreTokenizer _bmp = new(QwenPreTokenizerPattern.Regex, specialTokens: null);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF') ? SplitByCodePoint(text) : _bmp.PreTokenize(text);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) =>
        text.ContainsAnyInRange('\uD800', '\uDFFF') ? SplitByCodePoint(text) : _bmp.PreTokenize(text);

    /// <summary>The pattern's matches on <paramref name="text"/>, code point by code point.</summary>
    static List<(int Offset, int Length)> SplitByCodePoint(ReadOnlySpan<char> text)
    {
        char[] standIn = ArrayPool<char>.Shared.Rent(text.Length);
        int[] start = ArrayPool<int>.Shared.Rent(text.Length + 1);   // original offset of each stand-in unit
        try
        {
            int n = 0;
            for (int i = 0; i < text.Length; n++)
            {
                start[n] = i;
                char c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    standIn[n] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[i + 1])));
                    i += 2;
                }
                else
                {
                    standIn[n] = char.IsSurrogate(c) ? OtherStandIn : c;   // a lone surrogate is one "other" unit
                    i++;
                }
            }
            start[n] = text.Length;

            var splits = new List<(int Offset, int Length)>();
            foreach (var match in QwenPreTokenizerPattern.Regex.EnumerateMatches(standIn.AsSpan(0, n)))
            {
                int from = start[match.Index], to = start[match.Index + match.Length];
                splits.Add((from, to - from));
            }
            return splits;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(standIn);
            ArrayPool<int>.Shared.Return(start);
        }
    }

    const char OtherStandIn = '#';

    /// <summary>
    /// A BMP character the pattern treats as it treats a code point of <paramref name="category"/>:
    /// no astral code point is whitespace, CR/LF, an apostrophe or a space, so only letter / number /
    /// other matters ('x' and '0' match no contraction letter of <c>(?i:'s|'t|…)</c>).
    /// </summary>
    static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => 'x',
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => '0',
        _ => OtherStandIn,
    };
}
