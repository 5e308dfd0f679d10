namespace LlavaMod.Demo.Corpus;

/// <summary>The kinds of question the demo corpus asks.</summary>
public enum DemoQuestionKind { Describe, Existence, Color, Count, Position }

/// <summary>
/// One question about one scene with its ground-truth answer. <paramref name="Target"/> is the object
/// asked about (existence, colour: the shape only, position), if any.
/// </summary>
public sealed record DemoExample(string Id, string SceneId, DemoQuestionKind Kind, string Question, string Answer, ObjectKind? Target);

/// <summary>
/// Questions and canonical answers. Every scene gets three: "Describe the image.", one POPE-style
/// existence question (yes or no with equal probability), and one of colour / count / position.
/// Answers are short and use only <see cref="DemoVocabulary"/> words.
/// </summary>
public static class DemoQuestions
{
    public const string DescribePrompt = "Describe the image.";
    public const string CountPrompt = "How many objects are there?";
    const string ExistenceTemplate = "Is there a {0} {1} in the image?";
    const string ColorTemplate = "What color is the {0}?";
    const string PositionTemplate = "Where is the {0} {1}?";

    /// <summary>One instance of every question and answer template, for the vocabulary list.</summary>
    internal static IEnumerable<string> AllTemplatesText() =>
    [
        DescribePrompt, CountPrompt, string.Format(ExistenceTemplate, "red", "circle"), string.Format(ColorTemplate, "circle"),
        string.Format(PositionTemplate, "red", "circle"), Describe([new("red", "circle"), new("red", "circle"), new("red", "circle")]),
        Describe([]),
    ];

    /// <summary>"There is a red circle, a blue square and a green star." (objects in the given order).</summary>
    public static string Describe(IReadOnlyList<ObjectKind> objects)
    {
        if (objects.Count == 0) return "There is nothing.";
        var phrases = objects.Select(o => $"a {o.Color} {o.Shape}").ToArray();
        string list = phrases.Length == 1 ? phrases[0]
            : string.Join(", ", phrases[..^1]) + " and " + phrases[^1];
        return $"There is {list}.";
    }

    /// <summary>
    /// The canonical description of a scene: its objects in reading order, except that a bias
    /// partner is named right after its trigger ("a red circle, a blue square, …"). In the biased
    /// training split the trigger is then always followed by its partner, the language prior a
    /// model can learn and that makes it name the partner when a test image shows the trigger alone.
    /// </summary>
    public static string Describe(DemoScene scene)
    {
        var kinds = scene.Objects.Select(o => o.Kind).ToList();
        foreach (var (trigger, partner) in DemoVocabulary.BiasPairs)
        {
            int t = kinds.IndexOf(trigger), p = kinds.IndexOf(partner);
            if (t < 0 || p < 0 || p == t + 1) continue;
            kinds.RemoveAt(p);
            kinds.Insert(kinds.IndexOf(trigger) + 1, partner);
        }
        return Describe(kinds);
    }

    /// <summary>The scene's three examples; <paramref name="random"/> picks the existence target and the third question.</summary>
    public static IReadOnlyList<DemoExample> For(DemoScene scene, Random random)
    {
        var examples = new List<DemoExample>(3)
        {
            new($"{scene.Id}-describe", scene.Id, DemoQuestionKind.Describe, DescribePrompt, Describe(scene), null),
            Existence(scene, random),
        };
        var uniqueShapes = scene.Objects.GroupBy(o => o.Shape).Where(g => g.Count() == 1).Select(g => g.Single()).ToArray();
        var kinds = new List<DemoQuestionKind> { DemoQuestionKind.Count, DemoQuestionKind.Position };
        if (uniqueShapes.Length > 0) kinds.Insert(0, DemoQuestionKind.Color);
        switch (kinds[random.Next(kinds.Count)])
        {
            case DemoQuestionKind.Color:
                var shaped = uniqueShapes[random.Next(uniqueShapes.Length)];
                examples.Add(new($"{scene.Id}-color", scene.Id, DemoQuestionKind.Color,
                    string.Format(ColorTemplate, shaped.Shape), shaped.Color, shaped.Kind));
                break;
            case DemoQuestionKind.Count:
                examples.Add(new($"{scene.Id}-count", scene.Id, DemoQuestionKind.Count,
                    CountPrompt, scene.Objects.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
                break;
            default:
                var placed = scene.Objects[random.Next(scene.Objects.Count)];
                examples.Add(new($"{scene.Id}-position", scene.Id, DemoQuestionKind.Position,
                    string.Format(PositionTemplate, placed.Color, placed.Shape), placed.Position, placed.Kind));
                break;
        }
        return examples;
    }

    /// <summary>
    /// Yes: a random object of the scene. No: a random absent object, except that when the scene holds
    /// a bias trigger without its partner, half of the "no" questions ask about that partner
    /// (POPE's adversarial setting, aimed at the co-occurrence bias).
    /// </summary>
    static DemoExample Existence(DemoScene scene, Random random)
    {
        ObjectKind target;
        string answer;
        if (random.NextDouble() < 0.5)
        {
            target = scene.Objects[random.Next(scene.Objects.Count)].Kind;
            answer = DemoVocabulary.Yes;
        }
        else
        {
            var missingPartners = DemoVocabulary.AbsentPartners(scene.Contains).ToArray();
            var absent = DemoVocabulary.AllObjectKinds.Where(k => !scene.Contains(k)).ToArray();
            target = missingPartners.Length > 0 && random.NextDouble() < 0.5
                ? missingPartners[random.Next(missingPartners.Length)]
                : absent[random.Next(absent.Length)];
            answer = DemoVocabulary.No;
        }
        return new($"{scene.Id}-exists", scene.Id, DemoQuestionKind.Existence,
            string.Format(ExistenceTemplate, target.Color, target.Shape), answer, target);
    }
}
