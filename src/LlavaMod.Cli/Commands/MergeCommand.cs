using System.CommandLine;

namespace LlavaMod.Cli.Commands;

/// <summary>`llavamod merge PATH... --out OUT`: joins the outputs of the workers of a split job.</summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Every worker's output, all of one kind: shard folders (worker-*-of-*.json), logit caches (logit_cache.json), " +
                          "samples folders (samples.json), answer files of 'eval answer' workers (A.jsonl.worker.json beside them) or pair index files",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder or file (shards: default the first folder, shards are copied when it differs)" };
        var maxRejects = ShardCommand.MaxRejectShareOption();
        var command = new Command("merge",
            "Join the outputs of the workers of a split job ('--worker i --workers n' of shard, teacher cache-logits, teacher sample, pairs mine, pairs reference, eval answer) " +
            "into exactly what one process writes. Refuses outputs of other settings, models or data, and a missing or unfinished worker. " +
            "The outputs of 'pairs reference' workers may be merged back into the pair index they copied (--out names it; it is replaced atomically).\n\n" +
            "Examples:\n  llavamod merge shards-w*/ --out shards/\n  llavamod merge cache/w0 cache/w1 cache/w2 --out cache/all\n" +
            "  llavamod merge pairs-w0.sqlite pairs-w1.sqlite --out pairs.sqlite\n  llavamod merge pairs.sqlite.workers/w*.sqlite --out pairs.sqlite   (pairs reference)\n  llavamod merge pope/a-w0.jsonl pope/a-w1.jsonl --out pope/answers.jsonl");
        command.Arguments.Add(paths);
        command.Options.Add(output);
        command.Options.Add(maxRejects);
        command.SetAction(async (parse, ct) =>
        {
            var inputs = parse.GetValue(paths)!;
            await MergeKinds.Of(inputs).MergeAsync(inputs, parse.GetValue(output), new MergeSettings(parse.GetValue(maxRejects)), ct);
            return 0;
        });
        return command;
    }
}
