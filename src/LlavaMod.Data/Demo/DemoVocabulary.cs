using System.Text.RegularExpressions;

namespace LlavaMod.Data.Demo;

/// <summary>
/// The words of the demo corpus: colours (with their RGB fill), shapes, grid positions, answer
/// words, and the co-occurrence bias of the training split. The demo's hallucination scorer
/// (CHAIR-style) finds object mentions with <see cref="FindObjectMentions"/>, so that generator and
/// scorer share one word list.
/// </summary>
public static partial class DemoVocabulary
{
    /// <summary>Colour names and their fill colours, in a fixed order.</summary>
    public static IReadOnlyList<(string Name, byte R, byte G, byte B)> Colors { get; } =
    [
        ("red", 220, 40, 40),
        ("green", 40, 180, 60),
        ("blue", 50, 90, 230),
        ("yellow", 240, 220, 40),
        ("purple", 150, 60, 200),
        ("white", 245, 245, 245),
    ];

    /// <summary>Shape names, in a fixed order.</summary>
    public static IReadOnlyList<string> Shapes { get; } = ["circle", "square", "triangle", "star", "cross", "diamond"];

    /// <summary>Words a text may use for a shape (plural forms), mapped to the canonical shape name.</summary>
    public static IReadOnlyDictionary<string, string> ShapeSynonyms { get; } = BuildShapeSynonyms();

    /// <summary>Row and column names of the 3×3 grid.</summary>
    public static IReadOnlyList<string> RowNames { get; } = ["top", "middle", "bottom"];
    public static IReadOnlyList<string> ColumnNames { get; } = ["left", "center", "right"];

    public const string Yes = "Yes";
    public const string No = "No";

    /// <summary>
    /// The training split's co-occurrence bias: whenever the trigger object is in a biased scene, its
    /// partner is too. Partners are never triggers.
    /// </summary>
    public static IReadOnlyList<(ObjectKind Trigger, ObjectKind Partner)> BiasPairs { get; } =
    [
        (new("red", "circle"), new("blue", "square")),
        (new("green", "triangle"), new("yellow", "star")),
        (new("purple", "cross"), new("white", "diamond")),
    ];

    /// <summary>Every (colour, shape) pair, colours outer, shapes inner.</summary>
    public static IReadOnlyList<ObjectKind> AllObjectKinds { get; } =
        Colors.SelectMany(c => Shapes.Select(s => new ObjectKind(c.Name, s))).ToArray();

    /// <summary>The position phrase of a grid cell: "top left", "center", "bottom right", ...</summary>
    public static string PositionName(int row, int col) =>
        row == 1 && col == 1 ? "center"
        : row == 1 ? $"middle {ColumnNames[col]}"
        : col == 1 ? $"{RowNames[row]} center"
        : $"{RowNames[row]} {ColumnNames[col]}";

    public static (byte R, byte G, byte B) Rgb(string color)
    {
        foreach (var c in Colors)
            if (c.Name == color) return (c.R, c.G, c.B);
        throw new ArgumentException($"unknown demo colour '{color}'", nameof(color));
    }

    /// <summary>
    /// The objects a text names, as (colour, shape) in order of appearance: a colour word directly
    /// followed by a shape word or synonym, case-insensitive ("a Red circle", "two blue squares").
    /// </summary>
    public static IReadOnlyList<ObjectKind> FindObjectMentions(string text)
    {
        var found = new List<ObjectKind>();
        var words = WordPattern().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToArray();
        for (int i = 0; i + 1 < words.Length; i++)
            if (Colors.Any(c => c.Name == words[i]) && ShapeSynonyms.TryGetValue(words[i + 1], out var shape))
                found.Add(new ObjectKind(words[i], shape));
        return found;
    }

    /// <summary>Every word the corpus's questions and answers use, sorted (for restricting a model's vocabulary).</summary>
    public static IReadOnlyList<string> CorpusWords() =>
        DemoQuestions.AllTemplatesText().SelectMany(t => WordPattern().Matches(t).Select(m => m.Value))
            .Concat(Colors.Select(c => c.Name)).Concat(ShapeSynonyms.Keys).Concat(RowNames).Concat(ColumnNames)
            .Concat([Yes, No, "1", "2", "3", "4"]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    static Dictionary<string, string> BuildShapeSynonyms()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in Shapes)
        {
            map[s] = s;
            map[s.EndsWith("ss") ? s + "es" : s + "s"] = s;
        }
        return map;
    }

    [GeneratedRegex("[A-Za-z0-9]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();
}

/// <summary>A (colour, shape) pair, the identity of a demo object.</summary>
public readonly record struct ObjectKind(string Color, string Shape)
{
    public override string ToString() => $"{Color} {Shape}";
}
