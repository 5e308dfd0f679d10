using LlavaMod.Core;
using LlavaMod.Data.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LlavaMod.Models.Generation;

/// <summary>
/// A user message and an image file turned into what <see cref="TextGenerator"/> takes: prompt ids
/// rendered with the chat template the model was trained with, and CLIP pixel values. Shared by
/// <c>llavamod generate</c> and <c>llavamod eval answer</c>, so both prompt a model the same way.
/// </summary>
public static class PromptInputs
{
    const int MaxImageSide = 16384;

    /// <summary>The tokenizer of a model folder, or the bundled Qwen tokenizer when the folder has none.</summary>
    public static QwenTokenizer LoadTokenizer(string modelDir) =>
        QwenTokenizer.Load(File.Exists(Path.Combine(modelDir, "tokenizer.json")) || File.Exists(Path.Combine(modelDir, "vocab.json")) ? modelDir : QwenTokenizer.BundledPath);

    /// <summary>Prompt ids of one user turn; with an image, "&lt;image&gt;\n" is prepended when the message does not hold the tag.</summary>
    public static long[] Tokenize(ChatTemplate template, string message, bool withImage)
    {
        if (withImage && !message.Contains(ChatTemplate.ImageTag)) message = ChatTemplate.ImageTag + "\n" + message;
        return template.TokenizePrompt([new ChatTurn(ChatTurn.User, message)]).Select(i => (long)i).ToArray();
    }

    /// <summary>Decodes an image (size-checked before decoding) into CLIP pixel values [3, S, S] (squashed to the tower's size).</summary>
    public static Tensor LoadPixels(string path, ClipVisionConfig vision)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "image file not found");
        try
        {
            var info = Image.Identify(path);
            if (info.Width > MaxImageSide || info.Height > MaxImageSide)
                throw LlavaModException.ForFile(path, $"image is {info.Width}×{info.Height}, larger than {MaxImageSide} pixels per side");
            using var image = Image.Load<Rgb24>(path);
            var rgb = new byte[image.Width * image.Height * 3];
            image.CopyPixelDataTo(rgb);
            return ClipImageProcessor.ToPixelValues(rgb, image.Width, image.Height, vision);
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException)
        {
            throw LlavaModException.ForFile(path, $"cannot decode image: {e.Message}", e);
        }
    }
}
