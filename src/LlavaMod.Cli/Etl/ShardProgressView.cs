using System.Diagnostics;
using LlavaMod.Core;
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
        await ProgressDisplay.Create(AnsiConsole.Console)
            .StartAsync(async context =>
            {
                var task = context.AddTask("reading", maxValue: 1);
                var pipeline = new ShardPipeline(options, encoder, images)
                {
                    Warn = Warn,
                    Progress = p =>
                    {
                        task.Description = Markup.Escape(Describe(p));
                        if (p.InputBytesTotal > 0) { task.MaxValue = p.InputBytesTotal; task.Value = p.InputBytesRead; }
                    },
                };
                result = await pipeline.RunAsync(ct);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    /// <summary>The live row's description (at most 42 characters); the bar and the columns beside it show the input read and the time left.</summary>
    internal static string Describe(ShardProgress p) =>
        $"{ProgressText.Count(p.RowsWritten)} rows, {ProgressText.Count(p.Rejected)} rejected, {p.ShardsWritten} shards";

    /// <summary>A progress line for logs (output not a terminal), within 80 columns.</summary>
    internal static string Line(ShardProgress p, TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        long rate = (long)Math.Round((p.SourceRowsRead - p.SourceRowsSkipped) / seconds);
        string line = $"{ProgressText.Count(p.SourceRowsRead)} read, {ProgressText.Count(p.RowsWritten)} kept, {ProgressText.Count(p.Rejected)} rejected, {p.ShardsWritten} shards, {ProgressText.Count(rate)}/s";
        if (p.InputBytesTotal > 0 && p.InputBytesRead > 0)
        {
            double fraction = Math.Min(1.0, (double)p.InputBytesRead / p.InputBytesTotal);
            line += $", {ProgressText.Percent(fraction)}, ETA {ProgressText.Duration(TimeSpan.FromSeconds(Math.Round(seconds * (1 - fraction) / fraction)))}";
        }
        return line;
    }
}
