using System.CommandLine;
using System.Globalization;
using LlavaMod.Preferences;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary><c>pairs stats</c>: counts and histograms (gap, scores, lengths, severity) of the matching
/// pairs; <c>--plot DIR</c> also writes them as PNG files.</summary>
public static class PairsStatsCommand
{
    public static Command Create(Option<string> db)
    {
        var filters = new PairFilterOptions();
        var bins = new Option<int>("--bins") { Description = "Histogram bins.", DefaultValueFactory = _ => 10 };
        var plot = new Option<string?>("--plot") { Description = "Folder to write one histogram PNG per measure into." };
        var json = new Option<bool>("--json") { Description = "The counts and histograms as one JSON line." };
        var command = new Command("stats", "Distributions of score gap, scores, response lengths and severity.\n\n" +
            "Examples:\n  llavamod pairs stats --db pairs.sqlite --plot plots/\n  llavamod pairs stats --db pairs.sqlite --split val --json");
        filters.AddTo(command);
        command.Options.Add(bins);
        command.Options.Add(plot);
        command.Options.Add(json);
        command.SetAction(p =>
        {
            using var store = PairStore.Open(p.GetValue(db)!, readOnly: true);
            var stats = store.GetStatistics(filters.Read(p), p.GetValue(bins));
            if (p.GetValue(json))
            {
                p.InvocationConfiguration.Output.WriteLine(System.Text.Json.JsonSerializer.Serialize(stats, LlavaMod.Core.Json.Compact));
                if (p.GetValue(plot) is { } plotFolder) PairPlots.Write(stats, plotFolder);
                return;
            }
            AnsiConsole.MarkupLine($"[bold]{stats.Pairs:N0}[/] pairs · split {Markup.Escape(Join(stats.BySplit))} · source {Markup.Escape(Join(stats.BySource))}");
            foreach (var h in stats.Histograms)
            {
                if (h.Count == 0) AnsiConsole.MarkupLine($"[grey]{h.Name}: no values[/]");
                else AnsiConsole.Write(Render(h));
            }
            if (p.GetValue(plot) is { } folder)
            {
                foreach (var file in PairPlots.Write(stats, folder))
                    AnsiConsole.MarkupLine($"wrote {Markup.Escape(file)}");
            }
        });
        return command;
    }

    static string Join(IReadOnlyDictionary<string, long> counts) =>
        counts.Count == 0 ? "-" : string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value:N0}"));

    static Table Render(Histogram h)
    {
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Simple)
            .Title($"{h.Name}: n {h.Count:N0}, min {F(h.Min)}, mean {F(h.Mean)}, max {F(h.Max)}")
            .AddColumns("from", "to", "pairs", "");
        long top = h.Counts.Length == 0 ? 0 : h.Counts.Max();
        for (int i = 0; i < h.Counts.Length; i++)
        {
            int bar = top == 0 ? 0 : (int)Math.Round(30.0 * h.Counts[i] / top);
            table.AddRow(F(h.BinLower(i)), F(i == h.Counts.Length - 1 ? h.Max : h.BinLower(i + 1)), h.Counts[i].ToString("N0"), new string('█', bar));
        }
        return table;
    }
}
