using System.Text.RegularExpressions;

namespace LlavaMod.Evaluation.Benchmarks.Chair;

/// <summary>One object word found in a text: the word as matched (after singularising and joining two-word
/// names) and the COCO category it names.</summary>
public sealed record CocoMention(string Word, string Category, int WordIndex);

/// <summary>
/// CHAIR's reading of a text into COCO objects (caption_to_words of the authors' chair.py):
/// 1. lower case, split into words (letters and digits; hyphenated words stay one word, as NLTK's
///    tokenizer keeps them), each word singularised;
/// 2. two consecutive words are joined when they form a two-word name (<see cref="TwoWordNames"/>:
///    "hot dog", "teddy bear", "motor bike"…; "baby/adult ANIMAL" → the animal, "passenger jet/train"
///    → the vehicle, "toilet seat" → toilet, "home plate" and "train track" kept whole so that they
///    name nothing);
/// 3. when both "toilet" and "seat" occur, "seat" (a chair synonym) is dropped;
/// 4. the words that are synonyms of a category are its mentions, each counted (no de-duplication).
/// Three-word names ("stove top oven") never match, as in the original.
/// </summary>
public sealed partial class CocoObjectWords
{
    readonly Dictionary<string, string> _synonymToCategory = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _twoWordNames = new(StringComparer.Ordinal);

    public static CocoObjectWords Default { get; } = new();

    CocoObjectWords()
    {
        foreach (var line in CocoSynonyms.Lines.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = line.Split(", ");
            foreach (var w in words) _synonymToCategory[w] = words[0];
        }
        foreach (var name in new[]
        {
            "motor bike", "motor cycle", "air plane", "traffic light", "street light", "traffic signal", "stop light", "fire hydrant",
            "stop sign", "parking meter", "suit case", "sports ball", "baseball bat", "baseball glove", "tennis racket", "wine glass",
            "hot dog", "cell phone", "mobile phone", "teddy bear", "hair drier", "potted plant", "bow tie", "laptop computer",
            "stove top oven", "home plate", "train track",
        })
            _twoWordNames[name] = name;
        foreach (var animal in new[] { "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "animal", "cub" })
        {
            _twoWordNames[$"baby {animal}"] = animal;
            _twoWordNames[$"adult {animal}"] = animal;
        }
        foreach (var vehicle in new[] { "jet", "train" }) _twoWordNames[$"passenger {vehicle}"] = vehicle;
        _twoWordNames["bow tie"] = "tie";
        _twoWordNames["toilet seat"] = "toilet";
        _twoWordNames["wine glas"] = "wine glass";
    }

    public IReadOnlyDictionary<string, string> TwoWordNames => _twoWordNames;

    /// <summary>The category a COCO category name (or any synonym) belongs to, or null.</summary>
    public string? CategoryOf(string word) => _synonymToCategory.GetValueOrDefault(word);

    public IReadOnlyList<CocoMention> Mentions(string text)
    {
        var words = WordPattern().Matches(text.ToLowerInvariant()).Select(m => Singularise(m.Value)).ToList();
        var joined = new List<(string Word, int Index)>();
        for (int i = 0; i < words.Count;)
        {
            if (i + 1 < words.Count && _twoWordNames.TryGetValue($"{words[i]} {words[i + 1]}", out var name))
            {
                joined.Add((name, i));
                i += 2;
            }
            else
            {
                joined.Add((words[i], i));
                i++;
            }
        }
        if (joined.Any(w => w.Word == "toilet") && joined.Any(w => w.Word == "seat")) joined.RemoveAll(w => w.Word == "seat");
        return joined.Where(w => _synonymToCategory.ContainsKey(w.Word))
            .Select(w => new CocoMention(w.Word, _synonymToCategory[w.Word], w.Index)).ToList();
    }

    static readonly Dictionary<string, string> Irregular = new()
    {
        ["children"] = "child", ["people"] = "person", ["men"] = "man", ["women"] = "woman", ["mice"] = "mouse",
        ["knives"] = "knife", ["geese"] = "goose", ["feet"] = "foot", ["teeth"] = "tooth", ["shelves"] = "shelf",
        ["grandchildren"] = "grandchild", ["policemen"] = "policeman", ["gentlemen"] = "gentleman", ["servicemen"] = "serviceman",
        ["firemen"] = "fireman", ["ladies"] = "lady",
    };

    /// <summary>Plural → singular for the words CHAIR can match. The original uses pattern.en's singularize;
    /// this keeps any word the synonym list holds as it is ("bus", "skis", "scissors", "oxen") and otherwise
    /// undoes English plural endings.</summary>
    public string Singularise(string word)
    {
        if (_synonymToCategory.ContainsKey(word) || word.Length < 3) return word;
        if (Irregular.TryGetValue(word, out var irregular)) return irregular;
        if (word.EndsWith("ies") && word.Length > 4 && !"aeiou".Contains(word[^4])) return word[..^3] + "y";
        if (word.EndsWith("sses") || word.EndsWith("uses") || word.EndsWith("xes") || word.EndsWith("ches") || word.EndsWith("shes") || word.EndsWith("zzes"))
            return word[..^2];
        if (word.EndsWith('s') && !word.EndsWith("ss") && !word.EndsWith("us") && !word.EndsWith("is")) return word[..^1];
        return word;
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*")]
    private static partial Regex WordPattern();
}
