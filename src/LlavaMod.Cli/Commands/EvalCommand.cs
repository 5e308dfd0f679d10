using System.CommandLine;
using LlavaMod.Cli.Commands.Eval;

namespace LlavaMod.Cli.Commands;

/// <summary><c>llavamod eval</c>: answer benchmark questions with a model, score any answer file, or both.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval",
            "Evaluate on benchmarks' own files: 'answer' a LLaVA question file with a\n" +
            "model, 'score' any answer file (pope, chair, vqa, gqa, mme, demo), or 'run'\n" +
            "both. 'llavamod report' tabulates results. Rules: docs/evaluation.md");
        command.Subcommands.Add(EvalAnswerCommand.Create());
        command.Subcommands.Add(EvalScoreCommand.Create());
        command.Subcommands.Add(EvalRunCommand.Create());
        return command;
    }
}
