using System.CommandLine;
using LlavaMod.Preferences;
using LlavaMod.Preferences.Interop;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary><c>pairs export</c> (TRL Parquet or LLaVA-MoD JSON) and <c>pairs import</c> (those two and RLAIF-V Parquet).</summary>
public static class PairsExchangeCommands
{
    public static Command CreateExport(Option<string> db)
    {
        var filters = new PairFilterOptions();
        var format = new Option<string>("--format") { Description = "trl (DPOTrainer Parquet, conversational, images as datasets Image, teacher log-probs as teacher_chosen_logps/teacher_rejected_logps) or llava-mod (preference JSON; .jsonl for one object per line). See docs/preference-export.md.", Required = true };
        format.AcceptOnlyFromAmong("trl", "llava-mod");
        var output = new Option<string>("--out") { Description = "File to write (replaced atomically).", Required = true };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder that relative image paths are under (for --embed-images)." };
        var embed = new Option<bool>("--embed-images") { Description = "trl: store image bytes in the Parquet file, not only paths." };
        var command = new Command("export", "Export pairs for TRL's DPOTrainer or LLaVA-MoD's preference stage.");
        filters.AddTo(command);
        foreach (var o in new Option[] { format, output, imageRoot, embed }) command.Options.Add(o);
        command.SetAction(async (p, ct) =>
        {
            using var store = PairStore.Open(p.GetValue(db)!, readOnly: true);
            var options = new ExportOptions(p.GetValue(format) == "trl" ? ExportFormat.Trl : ExportFormat.LlavaMod, filters.Read(p),
                p.GetValue(imageRoot), p.GetValue(embed));
            long n = await PairExchange.ExportAsync(store, p.GetValue(output)!, options, ct);
            AnsiConsole.MarkupLine($"exported [bold]{n:N0}[/] pairs to {Markup.Escape(p.GetValue(output)!)}");
        });
        return command;
    }

    public static Command CreateImport(Option<string> db)
    {
        var file = new Argument<string>("file") { Description = "TRL or RLAIF-V preference Parquet (.parquet) or LLaVA-MoD preference JSON (.json, .jsonl)." };
        var run = new Option<string?>("--run") { Description = "Run the pairs are filed under (default import:FILENAME)." };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share of prompts put in the val split (by prompt hash).", DefaultValueFactory = _ => 0 };
        var imageDir = new Option<string?>("--image-dir") { Description = "Folder to write embedded image bytes to (as SHA256.ext)." };
        var command = new Command("import", "Import preference pairs (source=imported); importing a file again adds nothing.");
        command.Arguments.Add(file);
        foreach (var o in new Option[] { run, valFraction, imageDir }) command.Options.Add(o);
        command.SetAction(async (p, ct) =>
        {
            using var store = PairStore.Open(p.GetValue(db)!);
            var result = await PairExchange.ImportAsync(store, p.GetValue(file)!, new ImportOptions(p.GetValue(run), p.GetValue(valFraction), p.GetValue(imageDir)), ct);
            AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(result.Run)}[/]: {result.Rows:N0} rows read, {result.PairsInserted:N0} new pairs" +
                                   (result.SkippedIdentical > 0 ? $", {result.SkippedIdentical:N0} skipped (chosen = rejected)" : ""));
        });
        return command;
    }
}
