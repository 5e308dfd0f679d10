using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace LlavaMod.Cli;

/// <summary>Every top-level verb of the llavamod command, in the order --help lists them.
/// Each verb lives in Commands/VerbCommand.cs and exposes a static Create().</summary>
public static class CommandCatalog
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "llavamod: data preparation, cached-teacher distillation and preference mining for LLaVA-MoD style " +
            "multimodal mixture-of-experts students. Run 'llavamod COMMAND --help' for each command.");
        foreach (var command in All())
            root.Subcommands.Add(command);
        ListSummariesOnly(root);
        return root;
    }

    /// <summary>
    /// A command's description may run to examples and a key table (train lists every config key): in the list of a
    /// parent's commands each shows only its first paragraph, and its own --help shows all of it.
    /// </summary>
    static void ListSummariesOnly(RootCommand root)
    {
        if (root.Options.OfType<HelpOption>().SingleOrDefault() is { Action: HelpAction standard } help)
        {
            // piped help (| less, | grep, a log) wraps at 80 columns as a terminal of that width would
            if (Console.IsOutputRedirected) standard.MaxWidth = 80;
            help.Action = new SummarisedHelpAction(standard);
        }
    }

    /// <summary>The standard help, written while the shown command's subcommands carry their summaries as descriptions.</summary>
    sealed class SummarisedHelpAction(HelpAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var listed = parseResult.CommandResult.Command.Subcommands.ToList();
            var full = listed.Select(c => c.Description).ToList();
            try
            {
                foreach (var command in listed) command.Description = Summary(command.Description);
                return standard.Invoke(parseResult);
            }
            finally
            {
                for (int i = 0; i < listed.Count; i++) listed[i].Description = full[i];
            }
        }
    }

    /// <summary>The first paragraph of a description (up to its first blank line).</summary>
    public static string Summary(string? description)
    {
        if (string.IsNullOrEmpty(description)) return "";
        int blank = description.IndexOf("\n\n", StringComparison.Ordinal);
        return blank < 0 ? description : description[..blank];
    }


    public static IEnumerable<Command> All()
    {
        yield return Commands.RunCommand.Create();
        yield return Commands.DemoDataCommand.Create();
        yield return Commands.ShardCommand.Create();
        yield return Commands.VerifyCommand.Create();
        yield return Commands.InspectCommand.Create();
        yield return Commands.MergeCommand.Create();
        yield return Commands.ModelCommand.Create();
        yield return Commands.GenerateCommand.Create();
        yield return Commands.TeacherCommand.Create();
        yield return Commands.PairsCommand.Create();
        yield return Commands.TrainCommand.Create();
        yield return Commands.EvalCommand.Create();
        yield return Commands.ReportCommand.Create();
        yield return Commands.VersionCommand.Create();
    }
}
