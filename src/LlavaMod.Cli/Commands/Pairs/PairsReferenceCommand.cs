using System.CommandLine;
using System.Diagnostics;
using LlavaMod.Data.Text;
using LlavaMod.Teacher.Reference;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary>llavamod pairs reference: fill the teacher's reference log-probs (and token ids) of pairs that lack them.</summary>
public static class PairsReferenceCommand
{
    public static Command Create(Option<string> db)
    {
        var teacher = new Option<string>("--teacher") { Description = "Teacher model folder: the reference of preference distillation", Required = true };
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder that relative image paths of the pairs are under" };
        var shards = new Option<string?>("--shards") { Description = "Data shards to take images from (by row key, image sha256 or path) when the pair's image is not a file" };
        var template = new Option<string>("--template") { Description = "Chat template for untokenized pairs: qwen (LLaVA-MoD) or chatml", DefaultValueFactory = _ => "qwen" };
        template.AcceptOnlyFromAmong("qwen", "chatml");
        var batch = new Option<int>("--batch-size") { Description = "Pairs per teacher forward pass (and per committed transaction)", DefaultValueFactory = _ => 16 };
        var output = new Option<string?>("--out", "-o") { Description = "Worker only: its own pair index file, a copy of --db in which it fills its batches (join them with 'llavamod merge')" };
        var command = new Command("reference",
            "Compute the teacher's summed log-probs of chosen and rejected (and token ids, with the teacher's tokenizer) for pairs that lack them, " +
            "e.g. pairs imported from TRL / LLaVA-MoD / RLAIF-V files, so the pd stage can train on them. Resumable: only missing values are computed.")
        {
            teacher, imageRoot, shards, template, batch, output,
        };
        var runtime = new RuntimeOptionSet(command, precision: false);
        var split = new WorkerOptionSet(command, "batches of --batch-size pairs");
        command.SetAction((parse, ct) =>
        {
            var options = new ReferenceOptions
            {
                Db = parse.GetValue(db)!, Teacher = parse.GetValue(teacher)!, ImageRoot = parse.GetValue(imageRoot), Shards = parse.GetValue(shards),
                Template = ChatTemplateKinds.Parse(parse.GetValue(template)!), PairsPerBatch = parse.GetValue(batch), Runtime = runtime.Parse(parse),
                Share = split.Parse(parse), Out = parse.GetValue(output),
            };
            var summary = RunWithProgress(options, ct);
            Console.WriteLine(summary.Pairs == 0 ? "every pair has reference log-probs and token ids; nothing to do"
                : $"{summary.Pairs:N0} pairs: {summary.ReferencesFilled:N0} reference log-prob pairs stored, {summary.PairsTokenized:N0} pairs tokenized");
            return Task.FromResult(0);
        });
        return command;
    }

    static ReferenceSummary RunWithProgress(ReferenceOptions options, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            var last = TimeSpan.Zero;
            return ReferencePass.Run(options, (done, total) =>
            {
                if (done < total && clock.Elapsed - last < TimeSpan.FromSeconds(5)) return;
                last = clock.Elapsed;
                Console.WriteLine(LlavaMod.Core.ProgressText.Progress(done, total, clock.Elapsed, "pairs"));
            }, ct);
        }
        ReferenceSummary? summary = null;
        ProgressDisplay.Create(AnsiConsole.Console)
            .Start(context =>
            {
                var task = context.AddTask("reference log-probs", maxValue: 1);
                summary = ReferencePass.Run(options, (done, total) =>
                {
                    task.MaxValue = Math.Max(1, total);
                    task.Value = done;
                    task.Description = $"{done:N0}/{total:N0} pairs";
                }, ct);
                task.Value = task.MaxValue;
            });
        return summary!;
    }
}
