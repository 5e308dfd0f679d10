using System.CommandLine;
using LlavaMod.Core;

namespace LlavaMod.Cli.Commands;

/// <summary>
/// --worker and --workers, declared once for every verb that splits its work across processes and
/// resolved into one <see cref="WorkerShare"/> (from the flags, else from SLURM_ARRAY_TASK_ID /
/// JOB_COMPLETION_INDEX); the outputs join with 'llavamod merge'.
/// </summary>
public sealed class WorkerOptionSet
{
    readonly Option<int?> _worker;
    readonly Option<int?> _workers;

    /// <param name="unit">What a worker takes, for the help text ("data shards", "blocks", "pair batches").</param>
    public WorkerOptionSet(Command command, string unit)
    {
        _worker = new Option<int?>("--worker")
        {
            Description = $"This process's index in a split job (0-based); it takes the {unit} whose index mod --workers is this. " +
                          "Default: $SLURM_ARRAY_TASK_ID - $SLURM_ARRAY_TASK_MIN, else $JOB_COMPLETION_INDEX",
        };
        _workers = new Option<int?>("--workers")
        {
            Description = "Number of processes in a split job (default: $SLURM_ARRAY_TASK_COUNT, else $LLAVAMOD_WORKERS); join their outputs with 'llavamod merge'",
        };
        command.Options.Add(_worker);
        command.Options.Add(_workers);
    }

    public WorkerShare Parse(ParseResult parse) => WorkerShare.Resolve(parse.GetValue(_worker), parse.GetValue(_workers));

    /// <summary>--workers alone (a merge needs the count, not an index).</summary>
    public int? Count(ParseResult parse) => parse.GetValue(_workers);
}
