using System.CommandLine;
using System.Globalization;
using System.Text;
using LlavaMod.Core;
using LlavaMod.Preferences;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary><c>pairs show ID</c>: one pair in full; hallucinated words (from the claims JSON) in bold red.</summary>
public static class PairsShowCommand
{
    public static Command Create(Option<string> db)
    {
        var id = new Argument<long>("id") { Description = "Pair id (see pairs list)." };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder that relative image paths are under." };
        var json = new Option<bool>("--json") { Description = "The pair as one JSON line (every field, the question and the stored prompt)." };
        var command = new Command("show", "Show one pair: the user question, image, both responses, scores and reference log-probs.\n\n" +
            "Examples:\n  llavamod pairs show 17 --db pairs.sqlite --image-root raw/mine\n  llavamod pairs show 17 --db pairs.sqlite --json");
        command.Arguments.Add(id);
        command.Options.Add(imageRoot);
        command.Options.Add(json);
        command.SetAction(p =>
        {
            using var store = PairStore.Open(p.GetValue(db)!, readOnly: true);
            long pairId = p.GetValue(id);
            var pair = store.GetPair(pairId) ?? throw LlavaModException.ForFile(store.Path, $"no pair with id {pairId}");
            if (p.GetValue(json))
            {
                var node = System.Text.Json.JsonSerializer.SerializeToNode(pair, Json.Compact)!.AsObject();
                node["question"] = UserQuestion.Of(pair.PromptText);
                p.InvocationConfiguration.Output.WriteLine(node.ToJsonString(Json.Compact));
                return;
            }
            var head = new Grid().AddColumn().AddColumn();
            head.AddRow("pair", $"{pair.Id}  run [bold]{Markup.Escape(pair.Run)}[/]  split {pair.Split}  source {pair.Source}");
            head.AddRow("gap / severity", $"{PairsListCommand.Num(pair.Gap)} / {PairsListCommand.Num(pair.Severity)}");
            head.AddRow("image", Markup.Escape(DescribeImage(pair.ImagePath, p.GetValue(imageRoot))));
            if (pair.ImageKey is not null) head.AddRow("image key", Markup.Escape(pair.ImageKey));
            head.AddRow("question", Markup.Escape(UserQuestion.Of(pair.PromptText)));
            if (UserQuestion.IsRendered(pair.PromptText)) head.AddRow("stored prompt", $"[grey]{Markup.Escape(pair.PromptText)}[/]");
            AnsiConsole.Write(head);
            AnsiConsole.Write(Response("chosen", pair.Chosen, pair.RefChosenLogp, pair.RefChosenTokens, Color.Green));
            AnsiConsole.Write(Response("rejected", pair.Rejected, pair.RefRejectedLogp, pair.RefRejectedTokens, Color.Red));
        });
        return command;
    }

    static Panel Response(string title, ResponseDetail r, double? refLogp, long? refTokens, Color color)
    {
        var claims = ClaimsJson.Parse(r.ClaimsJson, $"claims of response {r.Id}");
        var text = new StringBuilder();
        foreach (var span in ClaimsJson.Mark(r.Text, claims))
            text.Append(span.Hallucinated ? $"[bold red]{Markup.Escape(span.Text)}[/]" : Markup.Escape(span.Text));
        text.Append("\n\n[grey]");
        text.Append(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"score {PairsListCommand.Num(r.Score)} · tokens {r.TokenCount?.ToString() ?? "-"} · sampler logp {PairsListCommand.Num(r.SamplerLogp)} · reference logp {PairsListCommand.Num(refLogp)} over {refTokens?.ToString() ?? "-"} tokens")));
        int unsupported = claims.Count(c => !c.Supported);
        if (claims.Count > 0) text.Append(Markup.Escape($" · {unsupported} of {claims.Count} claims unsupported"));
        text.Append("[/]");
        return new Panel(new Markup(text.ToString())) { Header = new PanelHeader($" {title} "), BorderStyle = new Style(color), Expand = true };
    }

    static string DescribeImage(string? path, string? root)
    {
        if (path is null) return "(none)";
        string? file = ImageRoot.FindFile(root, path, "pair");
        if (file is null) return $"{path} (not found)";
        long bytes = new FileInfo(file).Length;
        try
        {
            var info = SixLabors.ImageSharp.Image.Identify(file);
            return info is null ? $"{path} ({bytes:N0} bytes)" : $"{path} ({info.Width}×{info.Height}, {bytes:N0} bytes)";
        }
        catch (SixLabors.ImageSharp.ImageFormatException)
        {
            return $"{path} ({bytes:N0} bytes, not a readable image)";
        }
    }
}
