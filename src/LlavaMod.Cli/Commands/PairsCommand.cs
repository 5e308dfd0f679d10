using System.CommandLine;
using LlavaMod.Cli.Commands.Pairs;

namespace LlavaMod.Cli.Commands;

/// <summary><c>llavamod pairs</c>: the preference pair index (list, show, stats, export, import, verify, mine, reference, serve).</summary>
public static class PairsCommand
{
    public static Command Create()
    {
        var db = new Option<string>("--db")
        {
            Description = "The pair index (SQLite file).",
            Required = true,
            Recursive = true,
        };
        var command = new Command("pairs", "Browse, check and move the preference pairs of the teacher pass (SQLite pair index).");
        command.Options.Add(db);
        command.Subcommands.Add(PairsListCommand.Create(db));
        command.Subcommands.Add(PairsShowCommand.Create(db));
        command.Subcommands.Add(PairsStatsCommand.Create(db));
        command.Subcommands.Add(PairsExchangeCommands.CreateExport(db));
        command.Subcommands.Add(PairsExchangeCommands.CreateImport(db));
        command.Subcommands.Add(PairsVerifyCommand.Create(db));
        command.Subcommands.Add(PairsMineCommand.Create(db));
        command.Subcommands.Add(PairsReferenceCommand.Create(db));
        command.Subcommands.Add(PairsServeCommand.Create(db));
        return command;
    }
}
