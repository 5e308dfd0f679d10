using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks;

public sealed record MmeSubtask(string Name, string Group, int Questions, int Images, double Accuracy, double AccuracyPlus, double Score);

public sealed record MmeMetrics(int Questions, double Perception, double Cognition, IReadOnlyList<MmeSubtask> Subtasks);

/// <summary>
/// MME (Fu et al. 2023) as its eval_tool/calculation.py scores it: two yes/no questions per image;
/// the answer, lower-cased, is "yes"/"no" when it is exactly that, else by which of "yes"/"no"
/// its first four characters contain, else "other" (wrong). Per subtask: acc = right answers /
/// questions, acc+ = images with both answers right / images, score = (acc + acc+) × 100; the
/// perception and cognition scores sum their subtasks. Questions carry <c>category</c> (the
/// subtask) and <c>label</c> (Yes/No); the two questions of an image share its <c>image</c>.
/// </summary>
public sealed class MmeBenchmark : IBenchmark
{
    public const string PerceptionGroup = "perception", CognitionGroup = "cognition";

    static readonly string[] Perception = ["existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR"];
    static readonly string[] Cognition = ["commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"];

    public string Name => "mme";
    public string Description => "MME: acc and acc+ per subtask, score (acc + acc+) x 100 summed per perception / cognition (--questions with category and label)";

    public static string ReadAnswer(string text)
    {
        string pred = text.ToLowerInvariant();
        if (pred is "yes" or "no") return pred;
        string prefix = pred.Length > 4 ? pred[..4] : pred;
        return prefix.Contains("yes") ? "yes" : prefix.Contains("no") ? "no" : "other";
    }

    public ScoredBenchmark Score(BenchmarkInput input)
    {
        var pairs = AnsweredQuestions.Join(input, Name);
        var lines = new List<ScoredLine>();
        var rows = new List<(string Subtask, string Image, bool Right)>();
        foreach (var (answer, question) in pairs)
        {
            string subtask = question.Category ?? throw LlavaModException.ForFile(input.QuestionsPath!, $"line {question.Line}: no \"category\" (the MME subtask)");
            if (!Perception.Contains(subtask) && !Cognition.Contains(subtask))
                throw LlavaModException.ForFile(input.QuestionsPath!, $"line {question.Line}: category \"{subtask}\" is not an MME subtask ({string.Join(", ", Perception.Concat(Cognition))})");
            string label = (question.Fields["label"]?.GetValue<string>() ?? throw LlavaModException.ForFile(input.QuestionsPath!, $"line {question.Line}: no \"label\" (Yes/No)")).Trim().ToLowerInvariant();
            if (label is not ("yes" or "no")) throw LlavaModException.ForFile(input.QuestionsPath!, $"line {question.Line}: label \"{label}\" is not Yes/No");
            string read = ReadAnswer(answer.Text);
            bool right = read == label;
            rows.Add((subtask, question.Image, right));
            lines.Add(new ScoredLine(question.QuestionId, new Dictionary<string, double?> { ["accuracy"] = right ? 1 : 0 },
                new JsonObject { ["read_as"] = read, ["label"] = label, ["category"] = subtask }));
        }
        var subtasks = rows.GroupBy(r => r.Subtask).OrderBy(g => Array.IndexOf(Perception.Concat(Cognition).ToArray(), g.Key)).Select(g =>
        {
            var images = g.GroupBy(r => r.Image).ToList();
            double acc = (double)g.Count(r => r.Right) / g.Count();
            double accPlus = (double)images.Count(i => i.All(r => r.Right)) / images.Count;
            return new MmeSubtask(g.Key, Perception.Contains(g.Key) ? PerceptionGroup : CognitionGroup, g.Count(), images.Count, acc, accPlus, (acc + accPlus) * 100);
        }).ToList();
        double perception = subtasks.Where(s => s.Group == PerceptionGroup).Sum(s => s.Score);
        double cognition = subtasks.Where(s => s.Group == CognitionGroup).Sum(s => s.Score);
        var summary = new List<Metric>
        {
            new("perception", "MME perception", perception, null, rows.Count, MetricFormat.Number),
            new("cognition", "MME cognition", cognition, null, rows.Count, MetricFormat.Number),
            Estimates.Mean(lines.Select(l => l.Scores["accuracy"]!.Value).ToList()).ToMetric("accuracy", "accuracy", perAnswer: true),
        };
        return new ScoredBenchmark(Name, new MmeMetrics(rows.Count, perception, cognition, subtasks), summary, lines);
    }
}
