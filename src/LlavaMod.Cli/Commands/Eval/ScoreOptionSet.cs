using System.CommandLine;
using LlavaMod.Evaluation.Benchmarks;
using LlavaMod.Demo.Evaluation;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Eval;

/// <summary>The options of <c>eval score</c> and <c>eval run</c> (the scoring half), declared once, and the
/// benchmarks they know: the product's and the demo's.</summary>
public sealed class ScoreOptionSet
{
    public static BenchmarkCatalog Catalog { get; } = new(new DemoBenchmark());

    public Option<string> Benchmark { get; } = new("--benchmark")
    {
        Description = $"{string.Join(", ", Catalog.All.Select(b => b.Name))} (inputs and rules: docs/evaluation.md)", Required = true,
    };
    public Option<string?> Annotations { get; } = new("--annotations") { Description = "chair: COCO instances_*.json + captions_*.json folder; demo: split folder" };
    public Option<string?> References { get; } = new("--references") { Description = "vqa: {question_id, answers}; gqa: {question_id, answer}; pope: labels" };

    public void AddTo(Command command)
    {
        command.Options.Add(Benchmark);
        command.Options.Add(Annotations);
        command.Options.Add(References);
    }

    /// <summary>The headline metrics as a table (fits 80 columns).</summary>
    public static void Print(ScoredResult result, string path)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("metric").AddColumn("value").AddColumn("n", c => c.RightAligned());
        foreach (var m in result.Summary) table.AddRow(Markup.Escape(m.Label), Markup.Escape(m.Display), m.Count.ToString("N0"));
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(result.Benchmark)}[/]: {result.Questions} answers scored -> {Markup.Escape(path)}");
        AnsiConsole.Write(table);
    }
}
