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
        var json = new Option<bool>("--json") { Description = "JSON lines: the dataset's manifest statistics, then one line per shown row (its columns, turns and image sizes; no image bytes or ids)." };
        var command = new Command("inspect", "Show a dataset's statistics and a few rows.\n\n" +
            "Examples:\n  llavamod inspect shards/train --rows 5\n  llavamod inspect shards/train --row 00003-0012\n  llavamod inspect shards/train --rows 100 --json");
        command.Arguments.Add(dir);
        command.Options.Add(rows);
        command.Options.Add(key);
        command.Options.Add(tokenizer);
        command.Options.Add(json);
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(dir)!;
            var manifest = DatasetManifest.Load(path);
            if (parse.GetValue(json))
            {
                var output = parse.InvocationConfiguration.Output;
                if (parse.GetValue(key) is { } one) output.WriteLine(RowJson(await DatasetInspector.FindAsync(path, one, ct)));
                else
                {
                    output.WriteLine(new System.Text.Json.Nodes.JsonObject
                    {
                        ["dataset"] = System.Text.Json.JsonSerializer.SerializeToNode(manifest.Statistics, LlavaMod.Core.Json.Compact),
                        ["kind"] = manifest.Kind.ToString().ToLowerInvariant(), ["template"] = manifest.Template, ["shards"] = manifest.Shards.Count,
                    }.ToJsonString(LlavaMod.Core.Json.Compact));
                    foreach (var row in await DatasetInspector.FirstRowsAsync(path, parse.GetValue(rows), ct)) output.WriteLine(RowJson(row));
                }
                return 0;
            }
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

    /// <summary>A row as one JSON line: its scalar columns, image sizes and byte count, and its turns.</summary>
    internal static string RowJson(ShardRowBase row)
    {
        var node = new System.Text.Json.Nodes.JsonObject
        {
            ["key"] = row.Key, ["id"] = row.Id, ["source"] = row.Source, ["source_row"] = row.SourceRow, ["num_tokens"] = row.NumTokens,
            ["image"] = row.Width is null ? null : new System.Text.Json.Nodes.JsonObject
            {
                ["original_width"] = row.OriginalWidth, ["original_height"] = row.OriginalHeight, ["original_format"] = row.OriginalFormat,
                ["width"] = row.Width, ["height"] = row.Height, ["format"] = row.ImageFormat, ["bytes"] = row.Image?.Bytes?.Length, ["sha256"] = row.ImageSha256,
            },
            ["turns"] = new System.Text.Json.Nodes.JsonArray(DatasetInspector.Turns(row)
                .Select(t => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["role"] = t.Role, ["text"] = t.Text }).ToArray()),
        };
        if (row is PreferenceShardRow p) node["rejected"] = p.Rejected;
        return node.ToJsonString(LlavaMod.Core.Json.Compact);
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
