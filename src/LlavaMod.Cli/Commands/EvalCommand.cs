using System.CommandLine;
using LlavaMod.Demo.Evaluation;

namespace LlavaMod.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder to evaluate", Required = true };
        var data = new Option<string>("--data") { Description = "Shard folder of the held-out split", Required = true };
        var truth = new Option<string>("--ground-truth") { Description = "Ground truth: the demo split folder (questions.jsonl + scenes.jsonl)", Required = true };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for eval.json and answers.jsonl" };
        var batchSize = new Option<int>("--batch-size") { Description = "Prompts per generation batch", DefaultValueFactory = _ => 64 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Longest answer", DefaultValueFactory = _ => 40 };
        var limit = new Option<int>("--limit") { Description = "Evaluate only the first N questions (0 = all)", DefaultValueFactory = _ => 0 };
        var checkShards = CheckShardsOption.Create();
        var command = new Command("eval",
            "Answer held-out questions greedily and score them: short-answer accuracy, POPE-style yes/no accuracy and F1, " +
            "CHAIR_s / CHAIR_i hallucination rates on descriptions (with standard errors), object recall.")
        {
            model, data, truth, output, batchSize, maxNew, limit, checkShards,
        };
        var runtime = new RuntimeOptionSet(command);
        command.SetAction(parse =>
        {
            CheckShardsOption.Apply(parse, checkShards, [parse.GetValue(data)!]);
            var result = Evaluator.Run(new EvaluationOptions
            {
                Model = parse.GetValue(model)!, Data = parse.GetValue(data)!, GroundTruth = parse.GetValue(truth)!, Out = parse.GetValue(output),
                BatchSize = parse.GetValue(batchSize), MaxNewTokens = parse.GetValue(maxNew), Limit = parse.GetValue(limit),
                Runtime = runtime.Parse(parse),
            }, Console.WriteLine);
            Console.WriteLine($"questions {result.Questions}: accuracy {result.ShortAnswerAccuracy}, yes/no {result.YesNoAccuracy} (F1 {result.YesNoF1:F3}), " +
                              $"CHAIR_s {result.ChairS}, CHAIR_i {result.ChairI}, recall {result.ObjectRecall}, active LM params {result.ActiveLanguageParameters:N0}");
        });
        return command;
    }
}
