using System.Diagnostics;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.Runtime;
using LlavaMod.Teacher.Sampling;
using LlavaMod.Teacher.Scoring;
using TorchSharp;

namespace LlavaMod.Demo.Evaluation;

/// <summary>Settings of <c>llavamod eval</c>.</summary>
public sealed record EvaluationOptions
{
    public required string Model { get; init; }
    /// <summary>Shard folder of the held-out split.</summary>
    public required string Data { get; init; }
    /// <summary>Ground truth: the demo split folder (questions.jsonl + scenes.jsonl).</summary>
    public required string GroundTruth { get; init; }
    public string? Out { get; init; }
    public int BatchSize { get; init; } = 64;
    public int MaxNewTokens { get; init; } = 40;
    public int Limit { get; init; }
    /// <summary>Device, torch threads and compute precision (bf16: mixed precision, see <see cref="LlavaMod.Models.Autocast"/>).</summary>
    public RuntimeOptions Runtime { get; init; } = RuntimeOptions.Default;
}

/// <summary>One generated answer with its score, written to answers.jsonl for inspection.
/// <see cref="NamedAbsentPartner"/>: for a description of a scene with a bias trigger but not its partner, whether it names that partner (else null).</summary>
public sealed record ScoredAnswer(string Id, string Kind, string Reference, string Answer, bool? Correct, int Mentioned, int Hallucinated, int Missed, bool? NamedAbsentPartner = null);

/// <summary>
/// Answers every held-out question greedily (the prompt is the row's ids up to its first
/// supervised token, so the template is exactly the training one) and scores the answers with
/// the same reference scorer pair mining uses.
/// </summary>
public static class Evaluator
{
    /// <summary>The scored answers an evaluation writes beside eval.json.</summary>
    public const string AnswersFile = "answers.jsonl";

    /// <summary>The answers.jsonl of an eval folder, or null when it has none.</summary>
    public static IReadOnlyList<ScoredAnswer>? ReadAnswers(string evalDir)
    {
        string path = Path.Combine(evalDir, AnswersFile);
        if (!File.Exists(path)) return null;
        long line = 0;
        return File.ReadLines(path).Select(text => (Text: text, Line: ++line)).Where(l => l.Text.Length > 0)
            .Select(l => Json.Deserialize<ScoredAnswer>(l.Text, $"{path}, line {l.Line}")).ToList();
    }

    public static EvaluationResult Run(EvaluationOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        var clock = Stopwatch.StartNew();
        ShardsBeforeUse.Require([options.Data], options.Model);
        var truth = DemoGroundTruth.Load(options.GroundTruth);
        var device = options.Runtime.Apply();
        var precision = options.Runtime.Precision;
        using var model = Checkpoint.Load(options.Model, torch.ScalarType.Float32, device);
        model.eval();
        using var autocast = Autocast.Enter(precision); // one scope for the whole evaluation: each weight is cast once
        var tokenizer = QwenTokenizer.Load(options.Model);
        long[] stops = StopTokens.Of(tokenizer);

        var rows = DatasetReader.EnumerateRows(options.Data).ToBlockingEnumerable().Select(r => (Row: r, Question: truth.Find(r.Id)))
            .Where(r => r.Question is not null).ToList();
        if (rows.Count == 0) throw LlavaModException.ForFile(options.Data, $"no row id matches a question of {options.GroundTruth}");
        if (options.Limit > 0) rows = rows.Take(options.Limit).ToList();

        var answers = new List<ScoredAnswer>();
        foreach (var batch in rows.Chunk(options.BatchSize))
        {
            using var scope = torch.NewDisposeScope(); // the batch's pixel values
            var prompts = batch.Select(b => SupervisedExample.FromShardRow(b.Row).PromptOnly()).ToList();
            var generated = TextGenerator.Generate(model, LlavaBatch.FromExamples(prompts, model.Config.Vision, device),
                new GenerationOptions { MaxNewTokens = options.MaxNewTokens, StopTokenIds = stops }, ids => tokenizer.Decode(ids.Select(i => (int)i)));
            foreach (var g in generated)
            {
                var q = batch[g.PromptIndex].Question!;
                string text = (g.Text ?? "").Trim();
                var score = DemoGroundTruth.Score(q, text);
                bool? partner = q.Kind == DemoGroundTruth.DescribeKind && q.AbsentPartners.Count > 0
                    ? score.HallucinatedMentions.Any(m => q.AbsentPartners.Contains(m.Object)) : null;
                answers.Add(new ScoredAnswer(q.Id, q.Kind, q.Answer, text, score.ExactMatch, score.Mentioned, score.Hallucinated, score.Missed, partner));
            }
            log(ProgressText.Progress(answers.Count, rows.Count, clock.Elapsed, "answers"));
        }

        var info = ModelInfo.Of(model.Config);
        var result = Summarise(options.Model, answers, info.LanguageActiveParameters - info.EmbeddingParameters, clock.Elapsed.TotalSeconds);
        if (options.Out is not null)
        {
            Directory.CreateDirectory(options.Out);
            Json.WriteFileAtomic(Path.Combine(options.Out, "eval.json"), result);
            AtomicFile.WriteAllText(Path.Combine(options.Out, AnswersFile), string.Join('\n', answers.Select(a => System.Text.Json.JsonSerializer.Serialize(a, Json.Compact))) + "\n");
        }
        return result;
    }

    public static EvaluationResult Summarise(string model, IReadOnlyList<ScoredAnswer> answers, long activeParameters, double seconds)
    {
        var shortAnswers = answers.Where(a => a.Kind is not (DemoGroundTruth.DescribeKind or DemoGroundTruth.ExistenceKind)).ToList();
        var yesNo = answers.Where(a => a.Kind == DemoGroundTruth.ExistenceKind).ToList();
        var describe = answers.Where(a => a.Kind == DemoGroundTruth.DescribeKind).ToList();
        int tp = yesNo.Count(a => a.Correct == true && ReferenceScorer.ParseYesNo(a.Reference) == true);
        int saidYes = yesNo.Count(a => ReferenceScorer.ParseYesNo(a.Answer) == true);
        int isYes = yesNo.Count(a => ReferenceScorer.ParseYesNo(a.Reference) == true);
        double f1 = saidYes + isYes == 0 ? double.NaN : 2.0 * tp / (saidYes + isYes);
        int mentioned = describe.Sum(a => a.Mentioned), hallucinated = describe.Sum(a => a.Hallucinated);
        int present = describe.Sum(a => a.Mentioned - a.Hallucinated + a.Missed), found = describe.Sum(a => a.Mentioned - a.Hallucinated);
        return new EvaluationResult(model, answers.Count,
            Rate.Of(shortAnswers.Count(a => a.Correct == true), shortAnswers.Count),
            Rate.Of(yesNo.Count(a => a.Correct == true), yesNo.Count), f1,
            Rate.Of(describe.Count(a => a.Hallucinated > 0), describe.Count),
            Rate.Of(hallucinated, mentioned),
            Rate.Of(found, present),
            activeParameters, seconds)
        {
            PartnerHallucination = Rate.Of(describe.Count(a => a.NamedAbsentPartner == true), describe.Count(a => a.NamedAbsentPartner is not null)),
        };
    }
}
