using System.CommandLine;
using System.Globalization;
using LlavaMod.Preferences;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary><c>pairs list</c>: one page of pairs as a table.</summary>
public static class PairsListCommand
{
    public static Command Create(Option<string> db)
    {
        var filters = new PairFilterOptions();
        var sort = new Option<string>("--sort") { Description = "Order: id, gap, severity or length (ties by id).", DefaultValueFactory = _ => "id" };
        sort.AcceptOnlyFromAmong("id", "gap", "severity", "length");
        var desc = new Option<bool>("--desc") { Description = "Descending order." };
        var limit = new Option<int>("--limit") { Description = "Rows per page.", DefaultValueFactory = _ => 50 };
        var offset = new Option<int>("--offset") { Description = "Rows to skip." };
        var after = new Option<long?>("--after") { Description = "Keyset paging: continue after this pair id (the last id of the previous page)." };
        var json = new Option<bool>("--json") { Description = "One JSON object per pair and line (every field, the question and the stored prompt), no table." };
        var command = new Command("list", "List pairs with filters, sort and paging. The table fits the terminal's width (more columns from 140); --json gives every field.\n\n" +
            "Examples:\n  llavamod pairs list --db pairs.sqlite --sort gap --desc --limit 20\n  llavamod pairs list --db pairs.sqlite --text dog --json");
        filters.AddTo(command);
        foreach (var o in new Option[] { sort, desc, limit, offset, after, json }) command.Options.Add(o);
        command.SetAction(p =>
        {
            var query = filters.Read(p) with
            {
                Sort = Enum.Parse<PairSort>(p.GetValue(sort)!, ignoreCase: true),
                Descending = p.GetValue(desc),
                Limit = p.GetValue(limit),
                Offset = p.GetValue(offset),
                After = p.GetValue(after),
            };
            using var store = PairStore.Open(p.GetValue(db)!, readOnly: true);
            var rows = store.ListPairs(query);
            if (p.GetValue(json))
            {
                WriteJson(p.InvocationConfiguration.Output, rows);
                return;
            }
            Render(AnsiConsole.Console, rows, store.CountPairs(query), query.Limit);
        });
        return command;
    }

    /// <summary>JSON lines: each pair's fields (snake_case) plus "question", the user question of its prompt.</summary>
    internal static void WriteJson(TextWriter output, IEnumerable<PairRow> rows)
    {
        foreach (var r in rows)
        {
            var node = System.Text.Json.JsonSerializer.SerializeToNode(r, LlavaMod.Core.Json.Compact)!.AsObject();
            node["question"] = UserQuestion.Of(r.PromptText);
            output.WriteLine(node.ToJsonString(LlavaMod.Core.Json.Compact));
        }
    }

    /// <summary>The page as a table that fits the console's width: id, split, gap, severity, question and
    /// chosen response (cut to the room left); from 140 columns also run, source, scores, tokens and
    /// reference log-probs.</summary>
    internal static void Render(IAnsiConsole console, IReadOnlyList<PairRow> rows, long total, int limit)
    {
        int width = console.Profile.Width;
        bool wide = width >= 140;
        var fixedColumns = new List<(string Header, Func<PairRow, string> Cell)>
        {
            ("id", r => r.Id.ToString(CultureInfo.InvariantCulture)),
            ("split", r => r.Split),
            ("gap", r => Num(r.Gap)),
            ("sev", r => Num(r.Severity)),
        };
        if (wide)
            fixedColumns.AddRange(
            [
                ("run", r => r.Run), ("source", r => r.Source), ("score c/r", r => $"{Num(r.ChosenScore)}/{Num(r.RejectedScore)}"),
                ("tokens c/r", r => $"{r.ChosenTokens?.ToString(CultureInfo.InvariantCulture) ?? "-"}/{r.RejectedTokens?.ToString(CultureInfo.InvariantCulture) ?? "-"}"),
                ("ref logp c/r", r => $"{Num(r.RefChosenLogp)}/{Num(r.RefRejectedLogp)}"),
            ]);
        var cells = rows.Select(r => fixedColumns.Select(c => c.Cell(r)).ToArray()).ToList();
        int columns = fixedColumns.Count + 2;
        int used = 3 * columns + 1 // borders and one space of padding each side of every cell
            + fixedColumns.Select((c, i) => Math.Max(c.Header.Length, cells.Count == 0 ? 0 : cells.Max(row => row[i].Length))).Sum();
        int room = Math.Max(16, width - used);
        int questionWidth = Math.Max(8, room * 2 / 5), chosenWidth = Math.Max(8, room - questionWidth);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var (header, _) in fixedColumns) table.AddColumn(new TableColumn(header).NoWrap());
        table.AddColumn(new TableColumn("question").NoWrap()).AddColumn(new TableColumn("chosen").NoWrap());
        foreach (var (r, fixedCells) in rows.Zip(cells))
            table.AddRow(fixedCells.Select(Markup.Escape).Append(Markup.Escape(Cut(UserQuestion.Of(r.PromptText), questionWidth)))
                .Append(Markup.Escape(Cut(r.ChosenText, chosenWidth))).ToArray());
        console.Write(table);
        string next = rows.Count == limit && rows.Count > 0 ? $"; next page: --after {rows[^1].Id}" : "";
        console.MarkupLine($"[grey]{rows.Count} of {total} matching pairs{Markup.Escape(next)}[/]");
    }

    internal static string Num(double? v) => v is { } d ? d.ToString("0.###", CultureInfo.InvariantCulture) : "-";

    internal static string Cut(string text, int max)
    {
        string oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= max ? oneLine : oneLine[..(max - 1)] + "…";
    }
}
