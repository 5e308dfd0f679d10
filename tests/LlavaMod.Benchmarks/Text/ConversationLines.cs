namespace LlavaMod.Benchmarks.Text;

/// <summary>
/// LLaVA-style instruction rows as the ETL tokenizes them: a ChatML-rendered user question about an
/// image and an assistant answer in plain English (words, numbers, punctuation, contractions, now and
/// then an emoji). Seeded: the same lines every run.
/// </summary>
public static class ConversationLines
{
    static readonly string[] Words =
    [
        "the", "a", "man", "woman", "dog", "cat", "red", "blue", "car", "street", "table", "wooden", "next",
        "to", "is", "sitting", "standing", "on", "in", "front", "of", "window", "two", "people", "with",
        "large", "small", "green", "tree", "building", "picture", "shows", "near", "white", "plate", "food",
        "The", "There", "it's", "there's", "man's", "3", "10", "2.5", "1998", "left", "right", "background",
        "appears", "holding", "umbrella", "bus", "kitchen", "counter", "bicycle", "sign", "reads", "\"STOP\"",
    ];

    static readonly string[] Punctuation = [",", ",", ";", " -", ":"];
    static readonly string[] Emoji = ["😀", "🚗", "👍", "☕"];

    /// <summary>Space-separated words, with a comma or similar now and then.</summary>
    public static string Sentence(Random random, int minWords, int maxWords)
    {
        int count = random.Next(minWords, maxWords);
        var words = new string[count];
        for (int i = 0; i < count; i++)
        {
            words[i] = Words[random.Next(Words.Length)];
            if (random.Next(9) == 0) words[i] += Punctuation[random.Next(Punctuation.Length)];
        }
        return string.Join(' ', words);
    }

    public static string[] Create(int count, int seed = 99) => Enumerate(count, seed).ToArray();

    /// <summary>The lines of <see cref="Create"/>, one at a time (for runs too large to hold them all).</summary>
    public static IEnumerable<string> Enumerate(int count, int seed = 99)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            string question = Sentence(random, 5, 14) + "?";
            string answer = Sentence(random, 15, 70) + "." + (random.Next(20) == 0 ? " " + Emoji[random.Next(Emoji.Length)] : "");
            yield return $"<|im_start|>user\n<image>\n{question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n";
        }
    }
}
