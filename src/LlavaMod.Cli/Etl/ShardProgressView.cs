using System.Diagnostics;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using Spectre.Console;

namespace LlavaMod.Cli.Etl;

/// <summary>Runs the shard pipeline with a live progress bar on a terminal, plain progress lines otherwise.</summary>
public static class ShardProgressView
{
    public static async Task<DatasetManifest> RunAsync(ShardJobOptions options, IConversationEncoder encoder, IImageStage images, CancellationToken ct)
    {
        void Warn(string message) => Console.Error.WriteLine($"warning: {message}");
        var clock = Stopwatch.StartNew();

        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var last = TimeSpan.Zero;
            var pipeline = new ShardPipeline(options, encoder, images)
            {
                Warn = Warn,
                Progress = p =>
                {
                    if (clock.Elapsed - last < TimeSpan.FromSeconds(5)) return;
                    last = clock.Elapsed;
                    Console.WriteLine(Line(p, clock.Elapsed));
                },
            };
            return await pipeline.RunAsync(ct);
        }

        DatasetManifest? result = null;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("reading", maxValue: 1);
                var pipeline = new ShardPipeline(options, encoder, images)
                {
                    Warn = Warn,
                    Progress = p =>
                    {
                        task.Description = Markup.Escape(Line(p, clock.Elapsed));
                        if (p.InputBytesTotal > 0) { task.MaxValue = p.InputBytesTotal; task.Value = p.InputBytesRead; }
                    },
                };
                result = await pipeline.RunAsync(ct);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    static string Line(ShardProgress p, TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        double rate = (p.SourceRowsRead - p.SourceRowsSkipped) / seconds;
        string line = $"{p.SourceRowsRead:N0} rows read, {p.RowsWritten:N0} written, {p.Rejected:N0} rejected, {p.DuplicatesDropped:N0} duplicates, {p.ShardsWritten} shards, {rate:N0} rows/s";
        if (p.InputBytesTotal > 0 && p.InputBytesRead > 0)
        {
            double fraction = Math.Min(1.0, (double)p.InputBytesRead / p.InputBytesTotal);
            var eta = TimeSpan.FromSeconds(Math.Round(seconds * (1 - fraction) / fraction));
            line += $", {fraction:P0} of the input, ETA {eta:hh\\:mm\\:ss}";
        }
        return line;
    }
}
