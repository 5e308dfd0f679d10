using System.CommandLine;
using LlavaMod.Cli;
using LlavaMod.Core;

var root = new RootCommand(
    "llavamod: data preparation, cached-teacher distillation and preference mining for LLaVA-MoD style " +
    "multimodal mixture-of-experts students. Run 'llavamod COMMAND --help' for each command.");

foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);

return await CliRunner.RunAsync(root, args);
