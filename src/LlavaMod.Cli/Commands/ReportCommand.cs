using LlavaMod.Training.Stages;
using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Evaluation.Reports;

namespace LlavaMod.Cli.Commands;

public static class ReportCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Markdown file to write, e.g. runs/demo/report.md", Required = true };
        var title = new Option<string>("--title") { Description = "Report title", DefaultValueFactory = _ => "LLaVA-MoD distillation report" };
        var rows = new Option<string[]>("--row") { Description = "A table row: NAME=RESULT, a scored result of any benchmark (eval score's R.json, or an eval run folder; repeatable, in table order)", Required = true };
        var compare = new Option<string[]>("--compare") { Description = "Compare two rows of the same benchmark metric by metric, paired where both answered the same questions: A:B (repeatable)" };
        var plots = new Option<string[]>("--plot") { Description = "PNG plots to include (repeatable)" };
        var command = new Command("report", "Write a markdown report: one table per benchmark with standard errors, comparisons (paired differences) and training plots.\nExample: llavamod report --out report.md --row teacher=evals/teacher --row student=evals/student --compare student:teacher")
        {
            output, title, rows, compare, plots,
        };
        command.SetAction(parse =>
        {
            var table = (parse.GetValue(rows) ?? []).Select(r => Split(r, '=', "--row", "NAME=RESULT")).Select(p => new ReportWriter.Row(p.A, p.B)).ToList();
            var comparisons = (parse.GetValue(compare) ?? []).Select(c => Split(c, ':', "--compare", "A:B")).ToList();
            var plotFiles = parse.GetValue(plots) ?? [];
            // The resolved configuration (every key) of each training stage whose plots the report shows.
            var settings = plotFiles.Select(p => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(p))!, StageConfig.ResolvedFileName))
                .Distinct().Where(File.Exists).ToList();
            string text = ReportWriter.Write(parse.GetValue(output)!, parse.GetValue(title)!, table, plotFiles, comparisons, settings);
            Console.WriteLine(text);
        });
        return command;
    }

    static (string A, string B) Split(string value, char separator, string option, string shape)
    {
        int i = value.IndexOf(separator);
        if (i <= 0 || i == value.Length - 1) throw new LlavaModException($"{option} {value}: expected {shape}");
        return (value[..i], value[(i + 1)..]);
    }
}
