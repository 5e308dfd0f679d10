using System.CommandLine;
using LlavaMod.Preferences;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary><c>pairs verify</c>: integrity_check, foreign_key_check and counts; exit code 1 on problems.</summary>
public static class PairsVerifyCommand
{
    public static Command Create(Option<string> db)
    {
        var command = new Command("verify", "Check the pair index: SQLite integrity, dangling references, row counts.");
        command.SetAction(p =>
        {
            using var store = PairStore.Open(p.GetValue(db)!, readOnly: true);
            var result = store.Verify();
            var table = new Table().Border(TableBorder.Rounded).AddColumns("table", "rows");
            foreach (var (name, count) in result.Counts) table.AddRow(name, count.ToString("N0"));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"schema version {result.SchemaVersion}");
            foreach (var problem in result.IntegrityProblems)
                AnsiConsole.MarkupLine($"[red]integrity:[/] {Markup.Escape(problem)}");
            foreach (var fk in result.ForeignKeyProblems)
                AnsiConsole.MarkupLine($"[red]foreign key:[/] {Markup.Escape(fk.Table)} row {fk.RowId} refers to a missing {Markup.Escape(fk.Parent)} row");
            foreach (var problem in result.ConsistencyProblems)
                AnsiConsole.MarkupLine($"[red]consistency:[/] {Markup.Escape(problem)}");
            AnsiConsole.MarkupLine(result.Ok ? "[green]ok[/]" : "[red]problems found[/]");
            return result.Ok ? 0 : 1;
        });
        return command;
    }
}
