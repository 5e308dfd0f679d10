using System.CommandLine;
using LlavaMod.Evaluation.Answering;
using LlavaMod.Evaluation.Benchmarks;

namespace LlavaMod.Cli.Commands.Eval;

/// <summary><c>eval run</c>: <c>eval answer</c> then <c>eval score</c> into one folder (answers.jsonl, eval.json, eval.scored.jsonl).</summary>
public static class EvalRunCommand
{
    public static Command Create()
    {
        var answer = new AnswerOptionSet();
        var score = new ScoreOptionSet();
        var output = new Option<string>("--out", "-o") { Description = "Folder: answers.jsonl, eval.json, eval.scored.jsonl", Required = true };
        var command = new Command("run",
            "Answer a benchmark's questions with a model and score them (eval answer +\n" +
            "eval score into one folder; resumable). Example:\n" +
            "  llavamod eval run --benchmark chair --model runs/x/stages/pd/model \\\n" +
            "    --questions object_halbench.jsonl --image-root val2014 \\\n" +
            "    --annotations coco/annotations --out evals/pd-chair");
        answer.AddTo(command);
        score.AddTo(command);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(output)!;
            string answers = Path.Combine(dir, "answers.jsonl");
            var options = answer.Read(parse, answers);
            if (options.Share.IsSplit) throw new LlavaMod.Core.LlavaModException("eval run scores the whole question file: run 'eval answer --worker i --workers n' per worker, 'llavamod merge' their answer files, then 'eval score'");
            var report = AnswerPass.Run(options, Console.WriteLine);
            AnswerOptionSet.Print(report, answers);
            var skipped = report.MissingImages.ToHashSet();
            var (result, _) = Scorer.Run(ScoreOptionSet.Catalog,
                new ScoreRequest(parse.GetValue(score.Benchmark)!, answers, Path.Combine(dir, ScoredResultFile.InFolder), options.Questions,
                    parse.GetValue(score.Annotations), parse.GetValue(score.References)),
                new AnsweringRun(options.Model, report.ActiveLanguageParameters, report.Seconds),
                questions => skipped.Count == 0 ? questions : questions.Where(q => !skipped.Contains(q.QuestionId)).ToList());
            ScoreOptionSet.Print(result, Path.Combine(dir, ScoredResultFile.InFolder));
        });
        return command;
    }
}
