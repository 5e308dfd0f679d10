using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Text;

/// <summary>
/// Loads the bundled Qwen tokenizer once, both ours and Hugging Face's Rust tokenizer (through
/// Tokenizers.DotNet) as the independent reference.
/// </summary>
public sealed class TokenizerFixture : IDisposable
{
    static readonly Lazy<QwenTokenizer> Shared = new(() => QwenTokenizer.Load(QwenTokenizer.BundledPath));

    public QwenTokenizer Ours => Shared.Value;
    public Tokenizers.DotNet.Tokenizer Reference { get; } = new(vocabPath: QwenTokenizer.BundledPath);

    /// <summary>Hugging Face ids of <paramref name="text"/> (no special tokens added: Qwen's post-processor adds none).</summary>
    public int[] ReferenceIds(string text) => Reference.Encode(text).Select(id => checked((int)id)).ToArray();

    /// <summary>LLaVA's tokenizer_image_token: tokenize the chunks between "&lt;image&gt;" tags, join with -200.</summary>
    public int[] ReferenceIdsWithImages(string text)
    {
        var ids = new List<int>();
        string[] chunks = text.Split(ChatTemplate.ImageTag);
        for (int i = 0; i < chunks.Length; i++)
        {
            if (i > 0) ids.Add(ChatTemplate.ImagePlaceholderId);
            if (chunks[i].Length > 0) ids.AddRange(ReferenceIds(chunks[i]));
        }
        return ids.ToArray();
    }

    public void Dispose() => (Reference as IDisposable)?.Dispose();
}
