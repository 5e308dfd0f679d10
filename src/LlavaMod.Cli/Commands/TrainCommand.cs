using LlavaMod.Demo;
using System.CommandLine;
using LlavaMod.Training.Stages;

namespace LlavaMod.Cli.Commands;

public static class TrainCommand
{
    /// <summary>The stage config a parsed train command line names, read and validated (no model is loaded).</summary>
    public static StageConfig LoadConfig(ParseResult parse) => StageConfig.Load(parse.GetValue<string?>("--config"), parse.GetValue<string[]>("--set") ?? []);

    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Stage configuration (JSON object; its keys are listed above with their defaults). An unknown key is an error." };
        var set = new Option<string[]>("--set") { Description = "Override a config field: --set lr=2e-5 --set loss.beta=0.5 (repeatable; values are JSON or plain strings)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in the output folder (start afresh when it holds none); the losses continue exactly as if the run had not stopped" };
        var checkShards = CheckShardsOption.Create();
        var command = new Command("train",
            "Train one stage of LLaVA-MoD: sft (cross-entropy on assistant tokens), mimic (KL to the cached teacher), " +
            "d2s (upcycle to MoE; mimic + CE + load balancing), pd (preference distillation with the teacher as reference). " +
            "Writes OUT/config.json (the resolved configuration), OUT/metrics.jsonl, OUT/loss.png, checkpoints and the final model in OUT/model.\n\n" +
            "Examples:\n  llavamod train --config sft.json\n  llavamod train --config pd.json --set loss.beta=0.5 --set max_steps=200 --resume\n\n" +
            "Config keys (JSON; nested as loss.beta) and defaults:\n" + FieldTable())
        {
            config, set, resume, checkShards,
        };
        command.SetAction((parse, ct) =>
        {
            var stage = LoadConfig(parse);
            if (stage.Stage is not (StageKind.Pd or StageKind.VisionPretrain)) CheckShardsOption.Apply(parse, checkShards, stage.Data);
            StageRunner.Run(stage, parse.GetValue(resume), Console.WriteLine, ct, new StageExtensions(new DemoPatchLabels()));
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The config keys with their defaults, two to a line where they fit in 80 columns.</summary>
    static string FieldTable()
    {
        var cells = StageConfig.FieldDefaults().Select(f => $"{f.Key} = {f.Default}").ToList();
        const int width = 38;
        var lines = new List<string>();
        for (int i = 0; i < cells.Count; i++)
        {
            if (i + 1 < cells.Count && cells[i].Length <= width && cells[i + 1].Length <= width)
            {
                lines.Add("  " + cells[i].PadRight(width) + " " + cells[i + 1]);
                i++;
            }
            else lines.Add("  " + cells[i]);
        }
        return string.Join("\n", lines);
    }
}
