using LlavaMod.Core;

namespace LlavaMod.Cli.Pipelines;

/// <summary>
/// How <c>llavamod run --worker i --workers n</c> runs one worker's share of a pipeline, and
/// <c>llavamod run --workers n --merge</c> joins the shares. Shard-parallel steps (shard, teacher
/// cache-logits, teacher sample, pairs mine, pairs reference) run with --worker/--workers; those that write a folder
/// or file of their own write it to OUT.workers/wI (shard workers share their output folder; a pairs reference
/// worker fills its own copy of --db, given as --out), and the merge joins those into OUT with 'llavamod merge'
/// (for pairs reference: back into --db) and records the step as done, so a later plain run goes on after it.
/// Other steps run once, without --worker: a worker skips them.
/// </summary>
public sealed record PipelineWorkers(WorkerShare Share, bool Merge)
{
    /// <summary>The verbs that split, the option naming the output the merge writes (null: a folder the workers share),
    /// and the option through which a worker gets its own output (the same one, unless the verb fills its input in place).</summary>
    static readonly (string[] Verb, string? Output, string? WorkerOutputOption)[] SplitVerbs =
    [
        (["shard"], null, null),
        (["teacher", "cache-logits"], "--out", "--out"),
        (["teacher", "sample"], "--out", "--out"),
        (["pairs", "mine"], "--db", "--db"),
        (["pairs", "reference"], "--db", "--out"),
    ];

    /// <summary>What to run for a step: its worker's or its merge's arguments and record name; null when the step does not split.</summary>
    public (List<string> Args, string Record)? For(PipelineStep step, List<string> args)
    {
        var (verb, outputOption, workerOption) = SplitVerbs.FirstOrDefault(v => args.Take(v.Verb.Length).SequenceEqual(v.Verb));
        if (verb is null) return null;
        string? output = outputOption is null ? null : ValueOf(args, outputOption, step);
        if (Merge)
        {
            var inputs = output is null ? [ValueOf(args, "--out", step)] : Enumerable.Range(0, Share.Count).Select(i => WorkerOutput(output, i)).ToList();
            return (["merge", .. inputs, .. output is null ? Array.Empty<string>() : ["--out", output]], $"{step.Name}.done.json");
        }
        var worker = new List<string>(args);
        if (output is not null && workerOption == outputOption) worker[worker.IndexOf(outputOption!) + 1] = WorkerOutput(output, Share.Index);
        else if (output is not null) worker.AddRange([workerOption!, WorkerOutput(output, Share.Index)]);
        worker.AddRange(["--worker", Share.Index.ToString(), "--workers", Share.Count.ToString()]);
        return (worker, $"{step.Name}.worker-{Share.Index}-of-{Share.Count}.done.json");
    }

    /// <summary>Where worker <paramref name="index"/> of a step writes what one process writes to <paramref name="output"/>.</summary>
    public static string WorkerOutput(string output, int index)
    {
        string trimmed = output.TrimEnd('/', Path.DirectorySeparatorChar);
        string extension = Path.GetExtension(trimmed) is ".sqlite" or ".db" ? Path.GetExtension(trimmed) : "";
        return Path.Combine(trimmed + ".workers", $"w{index}{extension}");
    }

    static string ValueOf(List<string> args, string option, PipelineStep step)
    {
        int at = args.IndexOf(option);
        return at >= 0 && at + 1 < args.Count ? args[at + 1]
            : throw new LlavaModException($"step '{step.Name}': no {option} value, which a split run needs to place each worker's output");
    }
}
