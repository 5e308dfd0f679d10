using System.CommandLine;
using LlavaMod.Cli.Commands;

namespace LlavaMod.Cli.Pipelines;

/// <summary>Checks a pipeline step can deeper than its command line parses, without running it: the
/// verbs whose inputs are fixed before the pipeline starts read and validate them here.</summary>
public static class StepPreflight
{
    public static void Check(ParseResult step)
    {
        if (step.CommandResult.Command.Name == "train") TrainCommand.LoadConfig(step);
    }
}
