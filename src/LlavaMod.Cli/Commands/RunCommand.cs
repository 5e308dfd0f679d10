using System.CommandLine;
using LlavaMod.Cli.Pipelines;
using LlavaMod.Core;

namespace LlavaMod.Cli.Commands;

public static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("pipeline") { Description = "Pipeline file, e.g. pipelines/demo.json." };
        var set = new Option<string[]>("--set") { Description = "Override a pipeline parameter: --set out=runs/x --set seed=4 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var from = new Option<string?>("--from") { Description = "Start at this step; earlier steps are skipped even if not done." };
        var until = new Option<string?>("--until") { Description = "Stop after this step (e.g. --until teacher-sft to train and inspect the teacher first)." };
        var force = new Option<bool>("--force") { Description = "Rerun every step, even those recorded as done (with --from: that step and every later one). A train step with --resume continues from its checkpoints when they were trained from the same starting model, and stops with an error when that model was rewritten since." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check every step as a real run does, print the steps it would run (honouring --from/--until) and exit." };
        var merge = new Option<bool>("--merge") { Description = "With --workers n: join the workers' outputs of the shard-parallel steps (llavamod merge) and record those steps as done." };

        var command = new Command("run",
            "Run a declarative pipeline (the demo, or the LLaVA-MoD recipe on real data) step by step. " +
            "Every step (verb, options, parameters, a train step's stage config) is checked before the first one runs. " +
            "Finished steps are recorded, so rerunning the same command resumes after the last finished step.\n\n" +
            "A step is recorded with its arguments: one whose arguments change runs again, but later steps that read its output run again only when their own arguments change: " +
            "after changing one step's settings, redo it and what follows with --from STEP --force.\n\n" +
            "Examples:\n  llavamod run pipelines/demo.json --set out=runs/demo --dry-run\n  llavamod run pipelines/demo.json --set out=runs/demo --until teacher-sft")
        {
            file, set, from, until, force, dryRun, merge,
        };
        var split = new WorkerOptionSet(command, "share of every shard-parallel step (shard, teacher cache-logits, teacher sample, pairs mine; other steps are skipped)");
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(file)!;
            var definition = PipelineDefinition.Load(path);
            var overrides = ParseOverrides(parse.GetValue(set) ?? []);
            var runner = new PipelineRunner(definition, path, overrides);
            var share = parse.GetValue(merge)
                ? new WorkerShare(0, split.Count(parse) ?? throw new LlavaModException("--merge needs --workers n: the number of workers whose outputs are joined"))
                : split.Parse(parse);
            PipelineWorkers? workers = share.IsSplit || parse.GetValue(merge) ? new PipelineWorkers(share, parse.GetValue(merge)) : null;
            if (parse.GetValue(dryRun))
            {
                foreach (var (step, args) in runner.Plan(CommandCatalog.CreateRoot, parse.GetValue(from), parse.GetValue(until)))
                    Console.WriteLine(workers?.For(step, args) is { } s ? $"{step.Name}: llavamod {string.Join(' ', s.Args)}"
                        : workers is null ? $"{step.Name}: llavamod {string.Join(' ', args)}" : $"{step.Name}: (not shard-parallel, skipped)");
                return 0;
            }
            return await runner.RunAsync(CommandCatalog.CreateRoot, parse.GetValue(from), parse.GetValue(force), Console.Out, ct, parse.GetValue(until), workers);
        });
        return command;
    }

    static Dictionary<string, string> ParseOverrides(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, string>();
        foreach (var pair in pairs)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new LlavaModException($"--set {pair}: expected NAME=VALUE");
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }
}
