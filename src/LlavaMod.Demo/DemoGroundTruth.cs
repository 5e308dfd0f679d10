using System.Text.Json;
using LlavaMod.Core;
using LlavaMod.Demo.Corpus;
using LlavaMod.Teacher.Scoring;

namespace LlavaMod.Demo;

/// <summary>What is known about one question of the demo corpus: its kind, reference answer and the objects in its image.</summary>
public sealed record GroundTruthQuestion(string Id, string Kind, string Answer, IReadOnlySet<string> ObjectsInImage)
{
    /// <summary>Partners of the bias triggers in the image that are themselves absent ("blue square" when a red
    /// circle is shown alone): what a model that learned the training split's co-occurrence names wrongly.</summary>
    public IReadOnlySet<string> AbsentPartners { get; init; } = new HashSet<string>();
}

/// <summary>
/// Ground truth of a demo split folder (questions.jsonl + scenes.jsonl, as 'llavamod demo-data'
/// writes them), looked up by the question id that the shards keep in their "id" column, and the
/// scorer that uses it: describe answers are scored CHAIR-style on objects, yes/no answers by
/// their first word, other short answers by exact match after normalisation.
/// </summary>
public sealed class DemoGroundTruth
{
    public const string DescribeKind = "describe";
    public const string ExistenceKind = "existence";

    readonly Dictionary<string, GroundTruthQuestion> _questions;

    public static ObjectVocabulary Objects { get; } = ObjectVocabulary.FromAttributeNounPairs(DemoVocabulary.ColorSynonyms, DemoVocabulary.ShapeSynonyms);

    DemoGroundTruth(Dictionary<string, GroundTruthQuestion> questions) => _questions = questions;

    public int Count => _questions.Count;

    public static DemoGroundTruth Load(string splitFolder)
    {
        string scenesPath = Path.Combine(splitFolder, "scenes.jsonl");
        string questionsPath = Path.Combine(splitFolder, "questions.jsonl");
        var scenes = new Dictionary<string, HashSet<string>>();
        foreach (var (line, number) in ReadLines(scenesPath))
        {
            var scene = Parse<DemoSceneRecord>(line, scenesPath, number);
            scenes[scene.SceneId] = scene.Objects.Select(o => $"{o.Color} {o.Shape}").ToHashSet();
        }
        var questions = new Dictionary<string, GroundTruthQuestion>();
        foreach (var (line, number) in ReadLines(questionsPath))
        {
            var q = Parse<DemoQuestionRecord>(line, questionsPath, number);
            if (!scenes.TryGetValue(q.SceneId, out var objects))
                throw LlavaModException.ForRow(questionsPath, number, $"scene '{q.SceneId}' is not in {scenesPath}");
            questions[q.Id] = new GroundTruthQuestion(q.Id, q.Kind.ToString().ToLowerInvariant(), q.Answer, objects) { AbsentPartners = AbsentPartnersOf(objects) };
        }
        return new DemoGroundTruth(questions);
    }

    static HashSet<string> AbsentPartnersOf(IReadOnlySet<string> objects) =>
        DemoVocabulary.AbsentPartners(k => objects.Contains($"{k.Color} {k.Shape}")).Select(k => $"{k.Color} {k.Shape}").ToHashSet();

    public GroundTruthQuestion? Find(string? id) => id is not null && _questions.TryGetValue(id, out var q) ? q : null;

    /// <summary>Scores one response to a question with the reference scorer.</summary>
    public static ResponseScore Score(GroundTruthQuestion question, string response) => question.Kind switch
    {
        DescribeKind => ReferenceScorer.ScoreDescription(response, question.ObjectsInImage, Objects),
        ExistenceKind => ScoreYesNo(response, question.Answer),
        _ => ReferenceScorer.ScoreShortAnswer(response, question.Answer),
    };

    static ResponseScore ScoreYesNo(string response, string reference)
    {
        bool match = ReferenceScorer.ParseYesNo(response) is bool said && said == ReferenceScorer.ParseYesNo(reference);
        return new ResponseScore(match ? 0 : -1, 0, 0, 0, match, 1, []);
    }

    static IEnumerable<(string Line, long Number)> ReadLines(string path)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "not found: pass the split folder written by 'llavamod demo-data' (it holds scenes.jsonl and questions.jsonl)");
        long number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line)) yield return (line, number);
        }
    }

    static T Parse<T>(string line, string path, long number)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(line, Json.Options) ?? throw LlavaModException.ForRow(path, number, "is null");
        }
        catch (JsonException e)
        {
            throw LlavaModException.ForRow(path, number, $"malformed JSON: {e.Message}", e);
        }
    }
}
