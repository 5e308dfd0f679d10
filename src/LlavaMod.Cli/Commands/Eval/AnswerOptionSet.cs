using System.CommandLine;
using LlavaMod.Data.Images;
using LlavaMod.Data.Text;
using LlavaMod.Evaluation.Answering;
using LlavaMod.Models;

namespace LlavaMod.Cli.Commands.Eval;

/// <summary>The options of <c>eval answer</c> and <c>eval run</c> (the answering half), declared once.
/// --device, --threads and --precision come from the shared <see cref="RuntimeOptionSet"/>.</summary>
public sealed class AnswerOptionSet
{
    readonly Option<string> _model = new("--model") { Description = "Model folder (LLaVA-MoD layout, dense or MoE)", Required = true };
    readonly Option<string?> _questions = new("--questions") { Description = "LLaVA question JSONL (question_id, image, text)" };
    readonly Option<string?> _imageRoot = new("--image-root") { Description = "Folder the questions' image paths start from" };
    readonly Option<string?> _data = new("--data") { Description = "Instead of --questions: a shard folder (own ids)" };
    readonly Option<string> _template = new("--template") { Description = "Chat template of training: qwen or chatml", DefaultValueFactory = _ => "qwen" };
    readonly Option<string> _imageMode = new("--image-mode") { Description = "As 'shard --image-mode' for training: keep, pad-square, …", DefaultValueFactory = _ => "keep" };
    readonly Option<int> _imageSize = new("--image-size") { Description = "Side for resizing modes (0 = the tower's size)", DefaultValueFactory = _ => 0 };
    readonly Option<int> _batchSize = new("--batch-size") { Description = "Questions per generation batch", DefaultValueFactory = _ => 64 };
    readonly Option<int> _maxNew = new("--max-new-tokens") { Description = "Longest answer in tokens", DefaultValueFactory = _ => 128 };
    readonly Option<double> _temperature = new("--temperature") { Description = "0 = greedy decoding", DefaultValueFactory = _ => 0.0 };
    readonly Option<ulong> _seed = new("--seed") { Description = "Sampling seed (with --temperature > 0)", DefaultValueFactory = _ => 0UL };
    readonly Option<bool> _skipMissing = new("--skip-missing-images") { Description = "Go on without questions whose image is missing" };
    RuntimeOptionSet? _runtime;
    WorkerOptionSet? _split;

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _model, _questions, _imageRoot, _data, _template, _imageMode, _imageSize, _batchSize, _maxNew, _temperature, _seed, _skipMissing })
            command.Options.Add(o);
        _runtime = new RuntimeOptionSet(command);
        _split = new WorkerOptionSet(command, "questions");
    }

    public AnswerOptions Read(ParseResult parse, string answersPath) => new()
    {
        Model = parse.GetValue(_model)!, Out = answersPath, Questions = parse.GetValue(_questions), ImageRoot = parse.GetValue(_imageRoot),
        Data = parse.GetValue(_data), Template = ChatTemplateKinds.Parse(parse.GetValue(_template)!),
        ImageMode = ResizeModeNames.Parse(parse.GetValue(_imageMode)!), ImageSize = parse.GetValue(_imageSize), BatchSize = parse.GetValue(_batchSize),
        MaxNewTokens = parse.GetValue(_maxNew), Temperature = parse.GetValue(_temperature), Seed = parse.GetValue(_seed),
        Share = _split!.Parse(parse), SkipMissingImages = parse.GetValue(_skipMissing),
        Runtime = _runtime!.Parse(parse),
    };

    public static void Print(AnswerReport report, string answersPath)
    {
        Console.WriteLine($"{report.Answered} answered, {report.Resumed} resumed, of {report.Assigned} questions -> {answersPath}");
        if (report.MissingImages.Count > 0) Console.WriteLine($"{report.MissingImages.Count} questions skipped: image missing");
    }
}
