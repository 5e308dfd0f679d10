using LlavaMod.Demo;
using System.CommandLine;
using LlavaMod.Training.Stages;

namespace LlavaMod.Cli.Commands;

public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Stage configuration (JSON). Fields: stage (sft|mimic|d2s|pd), model, out, data, logit_cache, pairs, lr, batch_size, epochs, max_steps, trainable, loss.{kl_weight,ce_weight,aux_weight,preference,beta,chosen_nll_weight}, …" };
        var set = new Option<string[]>("--set") { Description = "Override a config field: --set lr=2e-5 --set loss.beta=0.5 (repeatable; values are JSON or plain strings)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in the output folder (start afresh when it holds none); the losses continue exactly as if the run had not stopped" };
        var checkShards = CheckShardsOption.Create();
        var command = new Command("train",
            "Train one stage of LLaVA-MoD: sft (cross-entropy on assistant tokens), mimic (KL to the cached teacher), " +
            "d2s (upcycle to MoE; mimic + CE + load balancing), pd (preference distillation with the teacher as reference). " +
            "Writes OUT/metrics.jsonl, OUT/loss.png, checkpoints and the final model in OUT/model.")
        {
            config, set, resume, checkShards,
        };
        command.SetAction((parse, ct) =>
        {
            var stage = StageConfig.Load(parse.GetValue(config), parse.GetValue(set) ?? []);
            if (stage.Stage is not (StageKind.Pd or StageKind.VisionPretrain)) CheckShardsOption.Apply(parse, checkShards, stage.Data);
            StageRunner.Run(stage, parse.GetValue(resume), Console.WriteLine, ct, new StageExtensions(new DemoPatchLabels()));
            return Task.FromResult(0);
        });
        return command;
    }
}
