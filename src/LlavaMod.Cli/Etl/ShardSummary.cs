using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using Spectre.Console;

namespace LlavaMod.Cli.Etl;

/// <summary>The table printed at the end of `shard`, `merge` and `inspect`.</summary>
public static class ShardSummary
{
    public static void Print(DatasetManifest m, ShardJobOptions? options = null)
    {
        var s = m.Statistics;
        var table = new Table().AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("kind", m.Kind.ToString().ToLowerInvariant());
        table.AddRow("source rows", $"{m.SourceRows:N0}");
        table.AddRow("rows written", $"{s.Rows:N0}");
        table.AddRow("rejected", $"{s.Rejected:N0}");
        foreach (var (reason, n) in s.RejectsByReason) table.AddRow($"  {Markup.Escape(reason)}", $"{n:N0}");
        foreach (var f in m.Inputs.Where(f => f.UnreadBytes is not null))
            table.AddRow($"  lost: {Markup.Escape(f.File)}", $"{f.UnreadBytes:N0} bytes unread");
        table.AddRow("duplicates dropped", $"{s.DuplicatesDropped:N0}");
        table.AddRow("rows with image", $"{s.RowsWithImage:N0}");
        table.AddRow("tokens", $"{s.Tokens:N0}");
        table.AddRow("shards", $"{m.Shards.Count:N0} ({m.Shards.Sum(x => x.Bytes) / 1e6:N1} MB)");
        table.AddRow("template", Markup.Escape(m.Template));
        if (m.Worker is int w) table.AddRow("worker", $"{w} of {m.Workers}");
        if (options is not null) table.AddRow("output", Markup.Escape(Path.GetFullPath(options.OutputDir)));
        AnsiConsole.Write(table);
        if (s.TokenHistogram.Count > 0)
            AnsiConsole.MarkupLine("tokens per row: " + Markup.Escape(string.Join("  ", s.TokenHistogram.Select(kv => $"≤{kv.Key}:{kv.Value}"))));
        if (s.ImageSideHistogram.Count > 0)
            AnsiConsole.MarkupLine("image longer side: " + Markup.Escape(string.Join("  ", s.ImageSideHistogram.Select(kv => $"≤{kv.Key}:{kv.Value}"))));
    }
}
