using System.Text.RegularExpressions;

namespace LlavaMod.Teacher.Scoring;

/// <summary>
/// Splits a response into atomic claims for the teacher-as-judge scorer (RLAIF-V's divide step,
/// done with rules instead of a language model). Deterministic:
/// 1. sentences end at '.', '!' or '?' followed by white space or the end, and at line breaks;
/// 2. a sentence is split further at a comma, "and" or ", and" when the next word opens a new
///    mention: an article, quantifier or number word ("a", "the", "two", …), a pronoun, or "there";
///    so "a red and blue circle" stays whole while "a red circle and a blue square" splits;
/// 3. a piece that opens with an indefinite article, number or quantifier (a bare noun phrase such
///    as "a blue square") takes the lead-in of the sentence's first piece: its words up to a
///    presentational verb ("is", "are", "shows", "has", …) that comes right before an article or
///    number ("There is a red circle, a blue square" → "There is a red circle", "There is a blue
///    square"; "The image shows a cat and a dog" → "… shows a cat", "The image shows a dog");
///    without such a verb the piece stands alone;
/// 4. a piece is kept only when it mentions something: at least one content word (not a
///    function word, see <see cref="IsContentWord"/>); trailing punctuation is dropped.
/// </summary>
public static partial class ClaimSplitter
{
    static readonly HashSet<string> Determiners = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "an", "the", "some", "several", "many", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "no", "another", "each", "every", "this", "that", "these", "those", "its", "their", "his", "her",
    };

    static readonly HashSet<string> Indefinites = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "an", "some", "several", "many", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "no", "another",
    };

    static readonly HashSet<string> PresentationalVerbs = new(StringComparer.OrdinalIgnoreCase)
    {
        "is", "are", "was", "were", "shows", "show", "showing", "has", "have", "contains", "contain", "includes", "include",
        "depicts", "depict", "features", "feature", "see",
    };

    static readonly HashSet<string> ClauseOpeners = new(StringComparer.OrdinalIgnoreCase)
    {
        "there", "it", "they", "he", "she", "we", "i", "you",
    };

    static readonly HashSet<string> FunctionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "an", "the", "some", "and", "or", "but", "of", "in", "on", "at", "to", "with", "by", "for", "from", "as", "into",
        "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did",
        "there", "here", "it", "its", "they", "their", "them", "he", "she", "his", "her", "we", "i", "you", "this", "that",
        "these", "those", "which", "who", "also", "so", "very", "too", "then", "than", "not", "can", "see", "image", "picture",
    };

    /// <summary>The claims of <paramref name="response"/> in order, duplicates (ignoring case) removed.</summary>
    public static IReadOnlyList<string> Split(string response)
    {
        var claims = new List<string>();
        foreach (var sentence in Sentences(response))
        {
            string? leadIn = null;
            bool first = true;
            foreach (var piece in Pieces(sentence))
            {
                var words = Words(piece);
                if (words.Count == 0) continue;
                string claim = piece;
                if (first)
                {
                    int det = words.FindIndex(1, w => Indefinites.Contains(w) || w.Equals("the", StringComparison.OrdinalIgnoreCase));
                    leadIn = det > 0 && PresentationalVerbs.Contains(words[det - 1])
                        ? string.Join(' ', piece.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..LeadInTokens(piece, det)]) : null;
                    first = false;
                }
                else if (leadIn is not null && Indefinites.Contains(words[0]))
                    claim = leadIn + " " + piece;
                if (words.Any(IsContentWord) && !claims.Contains(claim, StringComparer.OrdinalIgnoreCase)) claims.Add(claim);
            }
        }
        return claims;
    }

    /// <summary>The content words of a claim (lower case, in order, distinct): what a false claim rests on.</summary>
    public static IReadOnlyList<string> ContentWords(string claim) =>
        Words(claim).Where(IsContentWord).Select(w => w.ToLowerInvariant()).Distinct().ToList();

    /// <summary>A word that is not a function word (article, pronoun, auxiliary, preposition, …) and not
    /// a bare "image"/"picture"/"see" that every description uses.</summary>
    public static bool IsContentWord(string word) => !FunctionWords.Contains(word);

    static IEnumerable<string> Sentences(string text) =>
        SentenceEnd().Split(text.Trim()).Select(s => s.Trim()).Where(s => s.Length > 0);

    /// <summary>Splits one sentence at commas and "and" that open a new mention; pieces are trimmed, without trailing punctuation.</summary>
    static IEnumerable<string> Pieces(string sentence)
    {
        int start = 0;
        foreach (Match m in Joiner().Matches(sentence))
        {
            string next = m.Groups["next"].Value;
            if (!Determiners.Contains(next) && !ClauseOpeners.Contains(next)) continue;
            yield return Clean(sentence[start..m.Index]);
            start = m.Groups["next"].Index;
        }
        yield return Clean(sentence[start..]);
    }

    static string Clean(string piece) => WhiteSpace().Replace(piece.Trim().TrimEnd('.', '!', '?', ',', ';', ':'), " ").Trim();

    /// <summary>How many space-separated tokens of <paramref name="piece"/> come before its word number <paramref name="wordIndex"/>.</summary>
    static int LeadInTokens(string piece, int wordIndex)
    {
        var tokens = piece.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int words = 0;
        for (int i = 0; i < tokens.Length; i++)
        {
            int inToken = WordPattern().Matches(tokens[i]).Count;
            if (words + inToken > wordIndex) return i;
            words += inToken;
        }
        return tokens.Length;
    }

    static List<string> Words(string text) => WordPattern().Matches(text).Select(m => m.Value).ToList();

    [GeneratedRegex(@"(?<=[.!?])\s+|[\r\n]+")]
    private static partial Regex SentenceEnd();

    [GeneratedRegex(@"(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+)(?<next>[\p{L}\p{N}]+)", RegexOptions.IgnoreCase)]
    private static partial Regex Joiner();

    [GeneratedRegex(@"[\p{L}\p{N}']+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
