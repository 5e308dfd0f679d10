using System.CommandLine;
using LlavaMod.Cli.Etl;
using LlavaMod.Data.Etl;

namespace LlavaMod.Cli.Commands;

/// <summary>`llavamod merge DIR...`: joins the outputs of a split shard job.</summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var dirs = new Argument<string[]>("dirs") { Description = "Folders holding worker-NNNNN-of-MMMMM.json outputs", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (default: the first folder; shards are copied when it differs)" };
        var maxRejects = ShardCommand.MaxRejectShareOption();
        var command = new Command("merge", "Join the outputs of 'shard --worker i --workers n' into one dataset, identical to a single run.");
        command.Arguments.Add(dirs);
        command.Options.Add(output);
        command.Options.Add(maxRejects);
        command.SetAction(async (parse, ct) =>
        {
            var inputs = parse.GetValue(dirs)!;
            var manifest = await DatasetMerger.MergeAsync(inputs, parse.GetValue(output) ?? inputs[0], Console.WriteLine, ct, parse.GetValue(maxRejects));
            ShardSummary.Print(manifest);
            return 0;
        });
        return command;
    }
}
