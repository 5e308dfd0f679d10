using System.CommandLine;
using LlavaMod.Cli.Etl;
using LlavaMod.Data.Shards;
using Spectre.Console;

namespace LlavaMod.Cli.Commands;

/// <summary>`llavamod inspect DIR`: statistics and a few rows; `--row KEY` one row in full.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Dataset folder (holds dataset.json)" };
        var rows = new Option<int>("--rows") { Description = "How many rows to show", DefaultValueFactory = _ => 3 };
        var key = new Option<string?>("--row") { Description = "Show the row with this key, with its template-rendered text" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer to decode ids with (default: the bundled Qwen tokenizer)" };
        var command = new Command("inspect", "Show a dataset's statistics and a few rows.");
        command.Arguments.Add(dir);
        command.Options.Add(rows);
        command.Options.Add(key);
        command.Options.Add(tokenizer);
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(dir)!;
            var manifest = DatasetManifest.Load(path);
            if (parse.GetValue(key) is { } k)
            {
                var row = await DatasetInspector.FindAsync(path, k, ct);
                ShowRow(row, full: true);
                RowRendering.Show(manifest, row, parse.GetValue(tokenizer));
                return 0;
            }
            ShardSummary.Print(manifest);
            foreach (var row in await DatasetInspector.FirstRowsAsync(path, parse.GetValue(rows), ct)) ShowRow(row, full: false);
            return 0;
        });
        return command;
    }

    static void ShowRow(ShardRowBase row, bool full)
    {
        string image = row.Width is int w ? $"{row.OriginalWidth}x{row.OriginalHeight} {row.OriginalFormat} -> {w}x{row.Height} {row.ImageFormat}, {row.Image?.Bytes?.Length ?? 0:N0} bytes" : "no image";
        AnsiConsole.MarkupLine($"[bold]{row.Key}[/] id={Markup.Escape(row.Id ?? "-")} {Markup.Escape(row.Source)}:{row.SourceRow} {row.NumTokens} tokens, {Markup.Escape(image)}");
        foreach (var turn in DatasetInspector.Turns(row))
        {
            string text = full || turn.Text.Length <= 200 ? turn.Text : turn.Text[..200] + "…";
            AnsiConsole.MarkupLine($"  [grey]{turn.Role}:[/] {Markup.Escape(text)}");
        }
        if (full && row is PreferenceShardRow p) AnsiConsole.MarkupLine($"  [grey]rejected:[/] {Markup.Escape(p.Rejected)}");
    }
}
