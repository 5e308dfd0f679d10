using System.Text.RegularExpressions;

namespace LlavaMod.Teacher.Scoring;

/// <summary>
/// The objects a CHAIR-style scorer recognises: surface phrases (with synonyms and plurals) mapped
/// to a canonical object name. For the demo scenes an object is a colour + shape phrase ("red
/// circle"); for COCO-style annotations it is a category with its synonym list.
/// </summary>
public sealed partial class ObjectVocabulary
{
    readonly Dictionary<string, string> _phraseToObject;
    readonly int _longestPhrase;

    public ObjectVocabulary(IReadOnlyDictionary<string, string> phraseToObject)
    {
        _phraseToObject = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (phrase, canonical) in phraseToObject)
        {
            string[] words = Words(phrase);
            if (words.Length == 0) continue;
            string key = string.Join(' ', words);
            _phraseToObject[key] = canonical;
            string plural = string.Join(' ', words[..^1].Append(Pluralise(words[^1])));
            _phraseToObject.TryAdd(plural, canonical);
        }
        _longestPhrase = _phraseToObject.Keys.Select(k => k.Count(c => c == ' ') + 1).DefaultIfEmpty(1).Max();
    }

    /// <summary>Attribute × noun vocabulary: every "attribute noun" pair is an object ("red circle").</summary>
    public static ObjectVocabulary FromAttributeNounPairs(IReadOnlyDictionary<string, IReadOnlyList<string>> attributeSynonyms, IReadOnlyDictionary<string, IReadOnlyList<string>> nounSynonyms)
    {
        var map = new Dictionary<string, string>();
        foreach (var (attribute, attributeWords) in attributeSynonyms)
            foreach (var (noun, nounWords) in nounSynonyms)
                foreach (var a in attributeWords.Prepend(attribute))
                    foreach (var n in nounWords.Prepend(noun))
                        map[$"{a} {n}"] = $"{attribute} {noun}";
        return new ObjectVocabulary(map);
    }

    public sealed record Mention(string Object, int Start, int Length);

    /// <summary>Object mentions in reading order, longest phrase first at each position, no overlaps.
    /// A mention preceded by a negation ("no", "not", "without") within three words is skipped.</summary>
    public IReadOnlyList<Mention> Extract(string text)
    {
        var tokens = WordPattern().Matches(text.ToLowerInvariant()).ToArray();
        var mentions = new List<Mention>();
        for (int i = 0; i < tokens.Length;)
        {
            bool matched = false;
            for (int n = Math.Min(_longestPhrase, tokens.Length - i); n >= 1 && !matched; n--)
            {
                string phrase = string.Join(' ', tokens.Skip(i).Take(n).Select(t => t.Value));
                if (!_phraseToObject.TryGetValue(phrase, out var canonical)) continue;
                matched = true;
                if (!IsNegated(tokens, i))
                {
                    int start = tokens[i].Index, end = tokens[i + n - 1].Index + tokens[i + n - 1].Length;
                    mentions.Add(new Mention(canonical, start, end - start));
                }
                i += n;
            }
            if (!matched) i++;
        }
        return mentions;
    }

    static bool IsNegated(Match[] tokens, int index)
    {
        for (int j = Math.Max(0, index - 3); j < index; j++)
            if (tokens[j].Value is "no" or "not" or "without" or "nor") return true;
        return false;
    }

    static string[] Words(string phrase) => WordPattern().Matches(phrase.ToLowerInvariant()).Select(m => m.Value).ToArray();

    static string Pluralise(string noun) =>
        noun.EndsWith('s') || noun.EndsWith('x') || noun.EndsWith("ch") || noun.EndsWith("sh") ? noun + "es"
        : noun.EndsWith('y') && noun.Length > 1 && !"aeiou".Contains(noun[^2]) ? noun[..^1] + "ies"
        : noun + "s";

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex WordPattern();
}
