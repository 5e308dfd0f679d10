using Spectre.Console;

namespace LlavaMod.Cli;

/// <summary>The live progress display of the long verbs: a short description, a narrow bar, percentage,
/// time left and a spinner, together within 80 columns (everything but the description takes 33).</summary>
public static class ProgressDisplay
{
    public static Progress Create(IAnsiConsole console) => console.Progress()
        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 16 }, new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn());
}
