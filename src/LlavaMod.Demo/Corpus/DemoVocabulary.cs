using System.Text.RegularExpressions;

namespace LlavaMod.Demo.Corpus;

/// <summary>
/// The words of the demo corpus: colours (with their RGB fill), shapes, grid positions, answer
/// words, and the co-occurrence bias of the training split. The CHAIR-style scorer builds its object
/// vocabulary from <see cref="ColorSynonyms"/> × <see cref="ShapeSynonyms"/> (every "colour shape"
/// phrase is an object), so generator and scorer share one word list.
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

    /// <summary>
    /// Canonical colour → other words for it. The corpus uses one word per colour, so the lists are
    /// empty; they exist in the shape a CHAIR-style scorer takes (it adds plurals itself).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ColorSynonyms { get; } =
        Colors.ToDictionary(c => c.Name, _ => (IReadOnlyList<string>)[]);

    /// <summary>Canonical shape → other words for it (empty: see <see cref="ColorSynonyms"/>).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ShapeSynonyms { get; } =
        Shapes.ToDictionary(s => s, _ => (IReadOnlyList<string>)[]);

    /// <summary>Row and column names of the 3×3 grid.</summary>
    public static IReadOnlyList<string> RowNames { get; } = ["top", "middle", "bottom"];
    public static IReadOnlyList<string> ColumnNames { get; } = ["left", "center", "right"];

    public const string Yes = "Yes";
    public const string No = "No";

    /// <summary>
    /// The training split's co-occurrence bias: whenever the trigger object is in a biased scene, its
    /// partner is too. Partners are never triggers, and no kind is in two pairs. Six pairs (12 of the 36
    /// kinds) put a trigger without its partner in about a third of the unbiased test scenes, the
    /// descriptions where the teacher can show the learned prior.
    /// </summary>
    public static IReadOnlyList<(ObjectKind Trigger, ObjectKind Partner)> BiasPairs { get; } =
    [
        (new("red", "circle"), new("blue", "square")),
        (new("green", "triangle"), new("yellow", "star")),
        (new("purple", "cross"), new("white", "diamond")),
        (new("yellow", "cross"), new("green", "circle")),
        (new("white", "square"), new("purple", "triangle")),
        (new("blue", "star"), new("red", "diamond")),
    ];

    /// <summary>Partners of the bias triggers a scene shows whose partner it does not show (what a model that
    /// learned the training split's co-occurrence names wrongly).</summary>
    public static IEnumerable<ObjectKind> AbsentPartners(Func<ObjectKind, bool> inScene) =>
        BiasPairs.Where(p => inScene(p.Trigger) && !inScene(p.Partner)).Select(p => p.Partner);

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

    /// <summary>Every word the corpus's questions and answers use, sorted (for restricting a model's vocabulary).</summary>
    public static IReadOnlyList<string> CorpusWords() =>
        DemoQuestions.AllTemplatesText().SelectMany(t => WordPattern().Matches(t).Select(m => m.Value))
            .Concat(Colors.Select(c => c.Name)).Concat(Shapes).Concat(RowNames).Concat(ColumnNames)
            .Concat([Yes, No, "1", "2", "3", "4"]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    [GeneratedRegex("[A-Za-z0-9]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();
}

/// <summary>A (colour, shape) pair, the identity of a demo object.</summary>
public readonly record struct ObjectKind(string Color, string Shape)
{
    public override string ToString() => $"{Color} {Shape}";
}
