using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using Spectre.Console;

namespace LlavaMod.Cli.Etl;

/// <summary>Shows a row as the model sees it: the template-rendered text and the decoded token ids.</summary>
public static class RowRendering
{
    public static void Show(DatasetManifest manifest, ShardRowBase row, string? tokenizerPath)
    {
        var tokenizer = QwenTokenizer.Load(tokenizerPath ?? QwenTokenizer.BundledPath);
        if (tokenizer.Fingerprint != manifest.TokenizerFingerprint)
            AnsiConsole.MarkupLine("[yellow]warning:[/] this tokenizer is not the one the dataset was made with (pass --tokenizer)");
        var template = ChatTemplate.Create(ChatTemplateKinds.Parse(manifest.Template), tokenizer);
        var turns = DatasetInspector.Turns(row).Select(t => new ChatTurn(t.Role, t.Text)).ToList();
        AnsiConsole.MarkupLine("[grey]rendered ({0} template, default system prompt):[/]", Markup.Escape(manifest.Template));
        AnsiConsole.WriteLine(template.Render(turns));
        if (row is ShardRow sft)
        {
            int supervised = sft.LabelMask.Count(b => b != 0);
            AnsiConsole.MarkupLine($"[grey]input_ids:[/] {sft.InputIds.Length} ids, {supervised} with loss");
            AnsiConsole.MarkupLine("[grey]decoded ids ([[IMG]] = image placeholder, loss part in green):[/]");
            AnsiConsole.MarkupLine(Decode(tokenizer, sft.InputIds, sft.LabelMask));
        }
    }

    /// <summary>Decodes runs of ids with the same mask value, so the supervised part shows in colour.</summary>
    static string Decode(QwenTokenizer tokenizer, int[] ids, byte[] mask)
    {
        var sb = new System.Text.StringBuilder();
        int start = 0;
        for (int i = 1; i <= ids.Length; i++)
        {
            if (i < ids.Length && mask[i] == mask[start] && (ids[i] == ChatTemplate.ImagePlaceholderId) == (ids[start] == ChatTemplate.ImagePlaceholderId)) continue;
            string text = ids[start] == ChatTemplate.ImagePlaceholderId ? "[IMG]" : tokenizer.Decode(ids[start..i]);
            sb.Append(mask[start] != 0 ? $"[green]{Markup.Escape(text)}[/]" : Markup.Escape(text));
            start = i;
        }
        return sb.ToString();
    }
}
