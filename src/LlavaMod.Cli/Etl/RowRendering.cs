using LlavaMod.Data.Shards;
using Spectre.Console;

namespace LlavaMod.Cli.Etl;

/// <summary>Shows a row as the model sees it: the template-rendered text and the decoded token ids.</summary>
public static class RowRendering
{
    public static void Show(DatasetManifest manifest, ShardRowBase row)
    {
        if (row is ShardRow sft)
        {
            int masked = sft.LabelMask.Count(b => b != 0);
            AnsiConsole.MarkupLine($"[grey]input_ids:[/] {sft.InputIds.Length} ids, {masked} with loss; first ids: {string.Join(' ', sft.InputIds.Take(24))}");
        }
    }
}
