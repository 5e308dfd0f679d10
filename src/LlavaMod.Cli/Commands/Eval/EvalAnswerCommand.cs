using System.CommandLine;
using LlavaMod.Evaluation.Answering;

namespace LlavaMod.Cli.Commands.Eval;

/// <summary><c>eval answer</c>: a question file answered by a model into LLaVA's answer JSONL.</summary>
public static class EvalAnswerCommand
{
    public static Command Create()
    {
        var options = new AnswerOptionSet();
        var output = new Option<string>("--out", "-o") { Description = "Answer JSONL to write; an existing one is resumed", Required = true };
        var command = new Command("answer",
            "Answer a LLaVA question file with a model (batched, greedy by default,\n" +
            "the training chat template) into LLaVA's answer JSONL; resumable. Example:\n" +
            "  llavamod eval answer --model runs/x/stages/pd/model \\\n" +
            "    --questions llava_pope_test.jsonl --image-root val2014 \\\n" +
            "    --out pope/answers.jsonl");
        options.AddTo(command);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(output)!;
            AnswerOptionSet.Print(AnswerPass.Run(options.Read(parse, path), Console.WriteLine), path);
        });
        return command;
    }
}
