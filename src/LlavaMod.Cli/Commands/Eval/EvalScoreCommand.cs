using System.CommandLine;
using LlavaMod.Evaluation.Benchmarks;

namespace LlavaMod.Cli.Commands.Eval;

/// <summary><c>eval score</c>: any model's answer file scored on a benchmark.</summary>
public static class EvalScoreCommand
{
    public static Command Create()
    {
        var score = new ScoreOptionSet();
        var answers = new Option<string>("--answers") { Description = "Answer file in LLaVA's format (ours or model_vqa_loader's)", Required = true };
        var questions = new Option<string?>("--questions") { Description = "The question file the answers reply to (pope, chair, mme; gqa without --references)" };
        var output = new Option<string>("--out", "-o") { Description = "Result JSON; the per-answer side file goes beside it as NAME.scored.jsonl", Required = true };
        var command = new Command("score",
            "Score an answer file on a benchmark: metrics with standard errors as JSON, a per-answer side file, a table.\n" +
            "Example: llavamod eval score --benchmark pope --answers pope/answers.jsonl --questions llava_pope_test.jsonl --out pope/result.json");
        score.AddTo(command);
        command.Options.Add(answers);
        command.Options.Add(questions);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(output)!;
            var (result, _) = Scorer.Run(ScoreOptionSet.Catalog, new ScoreRequest(parse.GetValue(score.Benchmark)!, parse.GetValue(answers)!, path,
                parse.GetValue(questions), parse.GetValue(score.Annotations), parse.GetValue(score.References)));
            ScoreOptionSet.Print(result, path);
        });
        return command;
    }
}
