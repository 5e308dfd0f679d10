using System.Text.Json.Nodes;
using LlavaMod.Core;
using LlavaMod.Evaluation.Formats;
using LlavaMod.Evaluation.Scoring;

namespace LlavaMod.Evaluation.Benchmarks;

/// <summary>POPE counts with "yes" as the positive class, and the rates LLaVA's POPE scorer prints.</summary>
public sealed record PopeCounts(int Tp, int Fp, int Tn, int Fn)
{
    public int Total => Tp + Fp + Tn + Fn;
    public double Accuracy => (double)(Tp + Tn) / Total;
    public double Precision => (double)Tp / (Tp + Fp);
    public double Recall => (double)Tp / (Tp + Fn);
    public double F1 => 2 * Precision * Recall / (Precision + Recall);
    public double YesRatio => (double)(Tp + Fp) / Total;
}

public sealed record PopeMetrics(int Questions, double Accuracy, double Precision, double Recall, double F1, double YesRatio,
    int Tp, int Fp, int Tn, int Fn, double AccuracyStandardError, IReadOnlyDictionary<string, PopeMetrics>? Categories = null)
{
    public static PopeMetrics Of(PopeCounts c, IReadOnlyDictionary<string, PopeMetrics>? categories = null) =>
        new(c.Total, c.Accuracy, c.Precision, c.Recall, c.F1, c.YesRatio, c.Tp, c.Fp, c.Tn, c.Fn,
            Estimates.Proportion(c.Tp + c.Tn, c.Total).StandardError, categories);
}

/// <summary>
/// POPE (Li et al. 2023): yes/no questions about object presence. Labels come from the question
/// file's <c>label</c>, or <c>--references</c>: a file of <c>{question_id, label}</c> lines, or
/// POPE's annotation folder (<c>coco_pope_{category}.json</c>), whose lines are matched in order
/// with the questions of that category as LLaVA's eval_pope.py matches them (POPE's ids restart
/// in each file). An answer reads as "no" by LLaVA's rule (<see cref="ReadsAsNo"/>).
/// </summary>
public sealed class PopeBenchmark : IBenchmark
{
    public string Name => "pope";
    public string Description => "POPE yes/no object probing: accuracy, precision, recall, F1, yes ratio, per category (--questions with label, or --references)";

    /// <summary>LLaVA's eval_pope.py: keep the text before the first '.', drop commas, split on spaces;
    /// "no" when the words hold "No", "no" or "not", else "yes".</summary>
    public static bool ReadsAsNo(string text)
    {
        int dot = text.IndexOf('.');
        if (dot >= 0) text = text[..dot];
        var words = text.Replace(",", "").Split(' ');
        return words.Contains("No") || words.Contains("not") || words.Contains("no");
    }

    public ScoredBenchmark Score(BenchmarkInput input)
    {
        var pairs = AnsweredQuestions.Join(input, Name);
        var labels = input.References is not { } refs ? null
            : Directory.Exists(refs) ? LabelsByCategoryOrder(refs, pairs.Select(p => p.Question).ToList()) : ReadLabels(refs);
        var lines = new List<ScoredLine>();
        var byCategory = new SortedDictionary<string, List<(bool Said, bool Truth)>>(StringComparer.Ordinal);
        var all = new List<(bool Said, bool Truth)>();
        foreach (var (answer, question) in pairs)
        {
            string label = labels is not null
                ? labels.GetValueOrDefault(question.QuestionId) ?? throw LlavaModException.ForFile(input.References!, $"no label for question_id {question.QuestionId}")
                : question.Fields["label"]?.GetValue<string>() ?? throw LlavaModException.ForFile(input.QuestionsPath!, $"line {question.Line}: no \"label\" (yes/no); give POPE's annotation file as --references");
            bool truth = !label.Trim().Equals("no", StringComparison.OrdinalIgnoreCase);
            bool said = !ReadsAsNo(answer.Text);
            all.Add((said, truth));
            if (question.Category is { } c) (byCategory.TryGetValue(c, out var list) ? list : byCategory[c] = []).Add((said, truth));
            lines.Add(new ScoredLine(question.QuestionId, new Dictionary<string, double?> { ["accuracy"] = said == truth ? 1 : 0, ["yes_ratio"] = said ? 1 : 0 },
                new JsonObject { ["read_as"] = said ? "yes" : "no", ["label"] = truth ? "yes" : "no", ["category"] = question.Category }));
        }
        var categories = byCategory.Count == 0 ? null : byCategory.ToDictionary(kv => kv.Key, kv => PopeMetrics.Of(Count(kv.Value)));
        var counts = Count(all);
        var metrics = PopeMetrics.Of(counts, categories);
        var summary = new List<Metric>
        {
            Estimates.Proportion(counts.Tp + counts.Tn, counts.Total).ToMetric("accuracy", "accuracy", perAnswer: true),
            Estimates.Proportion(counts.Tp, counts.Tp + counts.Fp).ToMetric("precision", "precision"),
            Estimates.Proportion(counts.Tp, counts.Tp + counts.Fn).ToMetric("recall", "recall"),
            new("f1", "F1", counts.F1, null, counts.Total, MetricFormat.Number),
            Estimates.Proportion(counts.Tp + counts.Fp, counts.Total).ToMetric("yes_ratio", "yes ratio", perAnswer: true),
        };
        return new ScoredBenchmark(Name, metrics, summary, lines);
    }

    static PopeCounts Count(IEnumerable<(bool Said, bool Truth)> items)
    {
        int tp = 0, fp = 0, tn = 0, fn = 0;
        foreach (var (said, truth) in items)
            if (said && truth) tp++; else if (said) fp++; else if (!truth) tn++; else fn++;
        return new PopeCounts(tp, fp, tn, fn);
    }

    static Dictionary<string, string> ReadLabels(string path)
    {
        var labels = new Dictionary<string, string>();
        foreach (var line in JsonLines.ReadLinesOrArray(path))
            if (!labels.TryAdd(line.RequiredId("question_id"), line.RequiredString("label"))) throw line.Error($"question_id {line.RequiredId("question_id")} repeats");
        return labels;
    }

    /// <summary>POPE's folder: the n-th line of coco_pope_{category}.json labels the n-th question of that category.</summary>
    static Dictionary<string, string> LabelsByCategoryOrder(string folder, IReadOnlyList<BenchmarkQuestion> questions)
    {
        var labels = new Dictionary<string, string>();
        foreach (var group in questions.GroupBy(q => q.Category ?? throw LlavaModException.ForFile(folder, $"question_id {q.QuestionId} has no \"category\": labels from a POPE folder are matched per category")))
        {
            string path = Path.Combine(folder, $"coco_pope_{group.Key}.json");
            var lines = JsonLines.ReadLinesOrArray(path).ToList();
            var inOrder = group.OrderBy(q => q.Line).ToList();
            if (lines.Count != inOrder.Count)
                throw LlavaModException.ForFile(path, $"{lines.Count} labels for {inOrder.Count} questions of category {group.Key}");
            for (int i = 0; i < lines.Count; i++) labels[inOrder[i].QuestionId] = lines[i].RequiredString("label");
        }
        return labels;
    }
}
