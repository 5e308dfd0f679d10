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
        var command = new Command("list", "List pairs with filters, sort and paging.");
        filters.AddTo(command);
        foreach (var o in new Option[] { sort, desc, limit, offset, after }) command.Options.Add(o);
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
            long total = store.CountPairs(query);
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumns("id", "run", "split", "source", "gap", "score c/r", "severity", "tokens c/r", "ref logp c/r", "prompt", "chosen");
            foreach (var r in rows)
                table.AddRow(
                    r.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(r.Run), r.Split, r.Source, Num(r.Gap),
                    $"{Num(r.ChosenScore)}/{Num(r.RejectedScore)}", Num(r.Severity), $"{r.ChosenTokens?.ToString() ?? "-"}/{r.RejectedTokens?.ToString() ?? "-"}",
                    $"{Num(r.RefChosenLogp)}/{Num(r.RefRejectedLogp)}", Markup.Escape(Cut(r.PromptText, 40)), Markup.Escape(Cut(r.ChosenText, 50)));
            AnsiConsole.Write(table);
            string next = rows.Count == query.Limit && rows.Count > 0 ? $"; next page: --after {rows[^1].Id}" : "";
            AnsiConsole.MarkupLine($"[grey]{rows.Count} of {total} matching pairs{Markup.Escape(next)}[/]");
        });
        return command;
    }

    internal static string Num(double? v) => v is { } d ? d.ToString("0.###", CultureInfo.InvariantCulture) : "-";

    internal static string Cut(string text, int max)
    {
        string oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length <= max ? oneLine : oneLine[..(max - 1)] + "…";
    }
}
