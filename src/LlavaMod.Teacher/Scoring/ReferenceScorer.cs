using System.Text.RegularExpressions;

namespace LlavaMod.Teacher.Scoring;

/// <summary>How a response compares with the ground truth of its image.</summary>
public sealed record ResponseScore(
    double Score,
    int Mentioned,
    int Hallucinated,
    int Missed,
    bool? ExactMatch,
    double Severity,
    IReadOnlyList<ObjectVocabulary.Mention> HallucinatedMentions);

/// <summary>
/// Scores responses against ground truth (demo scenes, COCO-style object annotations), the
/// "reference" scorer of pair mining and evaluation:
/// - describe-style answers: objects are extracted with an <see cref="ObjectVocabulary"/>; a
///   mentioned object absent from the image is hallucinated, an object in the image never
///   mentioned is missed (CHAIR: CHAIR_s = share of responses with ≥1 hallucination,
///   CHAIR_i = hallucinated / mentioned). Score = −(2·hallucinated + missed): hallucinating costs
///   more than omitting, as in the demo study. Severity (the HSA-DPO weight of a rejected
///   response) = number of distinct hallucinated objects.
/// - short answers: exact match after <see cref="NormaliseAnswer"/>; score 0 or −1.
/// </summary>
public static partial class ReferenceScorer
{
    public const string Version = "reference-v1";

    public static ResponseScore ScoreDescription(string response, IReadOnlySet<string> objectsInImage, ObjectVocabulary vocabulary)
    {
        var mentions = vocabulary.Extract(response);
        var mentioned = mentions.Select(m => m.Object).ToHashSet();
        var hallucinatedMentions = mentions.Where(m => !objectsInImage.Contains(m.Object)).ToList();
        int hallucinated = mentioned.Count(o => !objectsInImage.Contains(o));
        int missed = objectsInImage.Count(o => !mentioned.Contains(o));
        return new ResponseScore(-(2.0 * hallucinated + missed), mentioned.Count, hallucinated, missed, null, hallucinated, hallucinatedMentions);
    }

    public static ResponseScore ScoreShortAnswer(string response, string reference)
    {
        bool match = NormaliseAnswer(response) == NormaliseAnswer(reference);
        return new ResponseScore(match ? 0 : -1, 0, 0, 0, match, match ? 0 : 1, []);
    }

    static readonly Dictionary<string, string> NumberWords = new()
    {
        ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4", ["five"] = "5",
        ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    /// <summary>VQA-style normalisation: lower case, punctuation and articles removed, number words as digits.</summary>
    public static string NormaliseAnswer(string answer)
    {
        var words = WordPattern().Matches(answer.ToLowerInvariant())
            .Select(m => m.Value)
            .Where(w => w is not ("a" or "an" or "the"))
            .Select(w => NumberWords.GetValueOrDefault(w, w));
        return string.Join(' ', words);
    }

    /// <summary>POPE-style: the answer's first word read as yes/no, null when it is neither.</summary>
    public static bool? ParseYesNo(string answer)
    {
        var first = WordPattern().Match(answer.ToLowerInvariant());
        return first.Success ? first.Value switch { "yes" => true, "no" => false, _ => null } : null;
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex WordPattern();
}
