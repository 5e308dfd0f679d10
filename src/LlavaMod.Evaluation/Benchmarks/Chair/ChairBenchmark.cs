using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks.Chair;

public sealed record ChairMetrics(int Answers, double ChairS, double ChairSStandardError, double ChairI, double ChairIStandardError,
    double Recall, double RecallStandardError, double Mentions, double MentionsStandardError, int MentionCount, int HallucinatedCount);

/// <summary>
/// CHAIR (Rohrbach et al. 2018) of free-form descriptions of COCO images, the scorer of Object
/// HalBench-style prompts. Per answer: the object mentions of the text (<see cref="CocoObjectWords"/>),
/// a mention is hallucinated when its category is not among the image's ground-truth objects
/// (<see cref="CocoAnnotations"/>), and the covered objects are the ground-truth ones it mentions.
/// CHAIR_s = answers with ≥ 1 hallucinated mention / answers; CHAIR_i = hallucinated mentions /
/// mentions (duplicates counted, as the original); recall = covered / ground-truth objects, summed
/// over answers; mentions = mentions per answer. The image of a question is its <c>image_id</c>,
/// else the annotations' image whose <c>file_name</c> is the question's image file name.
/// </summary>
public sealed class ChairBenchmark : IBenchmark
{
    public string Name => "chair";
    public string Description => "CHAIR_s / CHAIR_i, recall and mentions of descriptions of COCO images (--questions, --annotations with instances_*.json and captions_*.json)";

    public ScoredBenchmark Score(BenchmarkInput input)
    {
        var pairs = AnsweredQuestions.Join(input, Name);
        if (input.Annotations is null) throw new LlavaModException("--benchmark chair needs --annotations (a folder with COCO instances_*.json and captions_*.json)");
        var words = CocoObjectWords.Default;
        var annotations = CocoAnnotations.Load(input.Annotations, words);
        var lines = new List<ScoredLine>();
        var parts = new List<(int Mentions, int Hallucinated, int Covered, int Truth)>();
        foreach (var (answer, question) in pairs)
        {
            long imageId = ImageId(question, annotations, input.QuestionsPath!);
            var truth = annotations.Objects(imageId)
                ?? throw LlavaModException.ForFile(input.QuestionsPath!, $"line {question.Line}: image_id {imageId} is not in the annotations of {input.Annotations}");
            var mentions = words.Mentions(answer.Text);
            var hallucinated = mentions.Where(m => !truth.Contains(m.Category)).ToList();
            var covered = mentions.Select(m => m.Category).Where(truth.Contains).Distinct().Order(StringComparer.Ordinal).ToList();
            parts.Add((mentions.Count, hallucinated.Count, covered.Count, truth.Count));
            lines.Add(new ScoredLine(question.QuestionId, new Dictionary<string, double?>
            {
                ["chair_s"] = hallucinated.Count > 0 ? 1 : 0,
                ["mentions"] = mentions.Count,
            }, new JsonObject
            {
                ["image_id"] = imageId,
                ["hallucinated"] = new JsonArray(hallucinated.Select(m => (JsonNode)new JsonArray(m.Word, m.Category)).ToArray()),
                ["covered"] = new JsonArray(covered.Select(c => (JsonNode)c).ToArray()),
                ["mentioned"] = new JsonArray(mentions.Select(m => (JsonNode)m.Category).ToArray()),
                ["ground_truth"] = new JsonArray(truth.Order(StringComparer.Ordinal).Select(c => (JsonNode)c).ToArray()),
            }));
        }
        var chairS = Estimates.Proportion(parts.Count(p => p.Hallucinated > 0), parts.Count);
        var chairI = Estimates.Ratio(parts.Select(p => ((double)p.Hallucinated, (double)p.Mentions)).ToList());
        var recall = Estimates.Ratio(parts.Select(p => ((double)p.Covered, (double)p.Truth)).ToList());
        var mentionsPer = Estimates.Mean(parts.Select(p => (double)p.Mentions).ToList());
        var metrics = new ChairMetrics(parts.Count, chairS.Value, chairS.StandardError, chairI.Value, chairI.StandardError,
            recall.Value, recall.StandardError, mentionsPer.Value, mentionsPer.StandardError, parts.Sum(p => p.Mentions), parts.Sum(p => p.Hallucinated));
        return new ScoredBenchmark(Name, metrics,
        [
            chairS.ToMetric("chair_s", "CHAIR_s ↓", lowerIsBetter: true, perAnswer: true),
            chairI.ToMetric("chair_i", "CHAIR_i ↓", lowerIsBetter: true),
            recall.ToMetric("recall", "object recall"),
            mentionsPer.ToMetric("mentions", "mentions per answer", perAnswer: true),
        ], lines);
    }

    static long ImageId(Formats.BenchmarkQuestion question, CocoAnnotations annotations, string questionsPath)
    {
        switch (question.Fields["image_id"])
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number: return v.GetValue<long>();
            case JsonValue v when v.TryGetValue<string>(out var s) && long.TryParse(s, out var id): return id;
            case null: break;
            default: throw LlavaModException.ForFile(questionsPath, $"line {question.Line}: \"image_id\" must be a COCO image id (a number)");
        }
        string fileName = Path.GetFileName(question.Image);
        return annotations.IdOf(fileName)
            ?? throw LlavaModException.ForFile(questionsPath, $"line {question.Line}: image {fileName} is not in the annotations of {annotations.Folder} (no image_id on the line and no image with that file_name)");
    }
}
