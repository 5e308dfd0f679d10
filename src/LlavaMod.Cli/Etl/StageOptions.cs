using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Data.Etl;

namespace LlavaMod.Cli.Etl;

/// <summary>The tokenizer, template and image options of `shard`, and the stages built from them.</summary>
public sealed class StageOptions
{
    public required Option<string?> Tokenizer { get; init; }
    public required Option<string> Template { get; init; }
    public required Option<string?> SystemPrompt { get; init; }
    public required Option<int> MaxTokens { get; init; }
    public required Option<string> OverLength { get; init; }

    public static StageOptions AddTo(Command command)
    {
        var o = new StageOptions
        {
            Tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json of the model (default: the bundled Qwen tokenizer)" },
            Template = new Option<string>("--template") { Description = "Chat template: qwen or chatml", DefaultValueFactory = _ => "qwen" },
            SystemPrompt = new Option<string?>("--system-prompt") { Description = "System prompt (default: the template's)" },
            MaxTokens = new Option<int>("--max-tokens") { Description = "Token budget per row", DefaultValueFactory = _ => 2048 },
            OverLength = new Option<string>("--over-length") { Description = "Rows over the budget: reject or truncate", DefaultValueFactory = _ => "reject" },
        };
        o.Template.AcceptOnlyFromAmong("qwen", "chatml");
        o.OverLength.AcceptOnlyFromAmong("reject", "truncate");
        foreach (var opt in new Option[] { o.Tokenizer, o.Template, o.SystemPrompt, o.MaxTokens, o.OverLength }) command.Options.Add(opt);
        return o;
    }

    public (IConversationEncoder Encoder, IImageStage Images) Build(ParseResult parse) =>
        throw new LlavaModException("the tokenizer and image processor are not wired into 'shard' yet in this build");
}
