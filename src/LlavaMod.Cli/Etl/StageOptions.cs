using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Images;
using LlavaMod.Data.Text;

namespace LlavaMod.Cli.Etl;

/// <summary>The tokenizer, template and image options of `shard`, and the stages built from them.</summary>
public sealed class StageOptions
{
    public required Option<string?> Tokenizer { get; init; }
    public required Option<string> Template { get; init; }
    public required Option<string?> SystemPrompt { get; init; }
    public required Option<int> MaxTokens { get; init; }
    public required Option<string> OverLength { get; init; }
    public required Option<string> ImageMode { get; init; }
    public required Option<int> ImageSize { get; init; }
    public required Option<int> JpegQuality { get; init; }
    public required Option<long?> MaxPixels { get; init; }
    public required Option<int?> MinSide { get; init; }
    public required Option<double?> MaxAspectRatio { get; init; }

    public static StageOptions AddTo(Command command)
    {
        var o = new StageOptions
        {
            Tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json (or a model folder) of the model (default: the bundled Qwen tokenizer)" },
            Template = new Option<string>("--template") { Description = "Chat template: qwen (LLaVA-MoD --version qwen) or chatml", DefaultValueFactory = _ => "qwen" },
            SystemPrompt = new Option<string?>("--system-prompt") { Description = "System prompt (default: the template's)" },
            MaxTokens = new Option<int>("--max-tokens") { Description = "Token budget per row (the image counts as one placeholder)", DefaultValueFactory = _ => 2048 },
            OverLength = new Option<string>("--over-length") { Description = "Rows over the budget: reject or truncate", DefaultValueFactory = _ => "reject" },
            ImageMode = new Option<string>("--image-mode") { Description = $"Resize mode: {string.Join(", ", ResizeModeNames.All)} (keep stores the original when it can)", DefaultValueFactory = _ => "keep" },
            ImageSize = new Option<int>("--image-size") { Description = "Target side for the resizing modes (336 for CLIP ViT-L/14-336)", DefaultValueFactory = _ => 336 },
            JpegQuality = new Option<int>("--jpeg-quality") { Description = "Quality of re-encoded JPEGs", DefaultValueFactory = _ => 95 },
            MaxPixels = new Option<long?>("--max-pixels") { Description = "Largest accepted width x height (checked before decoding)" },
            MinSide = new Option<int?>("--min-side") { Description = "Smallest accepted image side" },
            MaxAspectRatio = new Option<double?>("--max-aspect-ratio") { Description = "Largest accepted long side / short side" },
        };
        o.Template.AcceptOnlyFromAmong("qwen", "chatml");
        o.OverLength.AcceptOnlyFromAmong("reject", "truncate");
        o.ImageMode.AcceptOnlyFromAmong([.. ResizeModeNames.All]);
        foreach (var opt in new Option[] { o.Tokenizer, o.Template, o.SystemPrompt, o.MaxTokens, o.OverLength, o.ImageMode, o.ImageSize, o.JpegQuality, o.MaxPixels, o.MinSide, o.MaxAspectRatio })
            command.Options.Add(opt);
        return o;
    }

    public (IConversationEncoder Encoder, IImageStage Images) Build(ParseResult parse)
    {
        var tokenizer = QwenTokenizer.Load(parse.GetValue(Tokenizer) ?? QwenTokenizer.BundledPath);
        var encoder = new TemplateConversationEncoder(tokenizer, ChatTemplateKinds.Parse(parse.GetValue(Template)!), parse.GetValue(SystemPrompt),
            parse.GetValue(MaxTokens), parse.GetValue(OverLength) == "truncate" ? OverLengthPolicy.Truncate : OverLengthPolicy.Reject);
        var defaults = new ImageOptions();
        var options = new ImageOptions
        {
            Mode = ResizeModeNames.Parse(parse.GetValue(ImageMode)!),
            Size = parse.GetValue(ImageSize),
            JpegQuality = parse.GetValue(JpegQuality),
            MaxPixels = parse.GetValue(MaxPixels) ?? defaults.MaxPixels,
            MinSide = parse.GetValue(MinSide) ?? defaults.MinSide,
            MaxAspectRatio = parse.GetValue(MaxAspectRatio) ?? defaults.MaxAspectRatio,
        };
        try { options.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new LlavaModException($"image options: {e.Message}"); }
        return (encoder, new ProcessorImageStage(new ImageProcessor(options)));
    }
}
