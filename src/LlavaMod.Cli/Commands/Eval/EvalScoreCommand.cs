using System.CommandLine;
using LlavaMod.Evaluation.Benchmarks;

namespace LlavaMod.Cli.Commands.Eval;

/// <summary><c>eval score</c>: any model's answer file scored on a benchmark.</summary>
public static class EvalScoreCommand
{
    public static Command Create()
    {
        var score = new ScoreOptionSet();
        var answers = new Option<string>("--answers") { Description = "LLaVA answer JSONL (ours or model_vqa_loader's)", Required = true };
        var questions = new Option<string?>("--questions") { Description = "The question file answered (pope, chair, mme, gqa)" };
        var output = new Option<string>("--out", "-o") { Description = "Result JSON (per-answer side file: NAME.scored.jsonl)", Required = true };
        var command = new Command("score",
            "Score any model's answer file on a benchmark: metrics with standard errors\n" +
            "as JSON, a per-answer side file, a table. Example:\n" +
            "  llavamod eval score --benchmark pope --answers pope/answers.jsonl \\\n" +
            "    --questions llava_pope_test.jsonl --out pope/result.json");
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
