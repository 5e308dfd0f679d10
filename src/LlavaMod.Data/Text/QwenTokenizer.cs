using System.Text;
using System.Text.RegularExpressions;
using LlavaMod.Core;
using Microsoft.ML.Tokenizers;

namespace LlavaMod.Data.Text;

/// <summary>
/// Qwen's byte-level BPE tokenizer (Qwen1.5 / Qwen2 / Qwen2.5 / Qwen3 files), built on
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>, giving the same ids as Hugging Face's
/// tokenizer: added tokens (<c>&lt;|endoftext|&gt;</c>, <c>&lt;|im_start|&gt;</c>, …) written in the
/// text are recognised as single ids, the rest is NFC-normalised, split with Qwen's pre-tokenizer
/// pattern and BPE-encoded.
/// </summary>
public sealed class QwenTokenizer
{
    public const string EndOfTextToken = "<|endoftext|>";

    readonly BpeTokenizer _bpe;
    readonly Dictionary<string, int> _vocabulary;
    readonly Dictionary<string, int> _addedTokens;
    readonly Dictionary<int, string> _addedTokensById;
    readonly Regex? _addedTokenSplitter;

    QwenTokenizer(TokenizerDefinition definition, string sourceName)
    {
        _vocabulary = definition.Vocabulary;
        _addedTokens = definition.AddedTokens;
        _addedTokensById = _addedTokens.ToDictionary(kv => kv.Value, kv => kv.Key);
        if (!_addedTokens.TryGetValue(EndOfTextToken, out int eot) && !_vocabulary.TryGetValue(EndOfTextToken, out eot))
            throw LlavaModException.ForFile(sourceName, $"has no {EndOfTextToken} token; is this a Qwen tokenizer?");
        EndOfTextId = eot;
        VocabularySize = Math.Max(_vocabulary.Values.Max(), _addedTokens.Count == 0 ? -1 : _addedTokens.Values.Max()) + 1;
        Fingerprint = Hashing.Sha256OfFiles(definition.SourceFiles);

        // Hugging Face extracts added tokens before normalising (they are declared normalized=false),
        // leftmost-longest; an alternation sorted longest-first does the same.
        if (_addedTokens.Count > 0)
        {
            string alternation = string.Join("|", _addedTokens.Keys
                .OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).Select(Regex.Escape));
            _addedTokenSplitter = new Regex(alternation, RegexOptions.CultureInvariant | RegexOptions.Compiled);
        }

        IReadOnlyDictionary<string, int>? special = _addedTokens.Count == 0 ? null : _addedTokens;
        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(_vocabulary)
            {
                Merges = definition.Merges,
                ByteLevel = true,
                PreTokenizer = QwenPreTokenizer.Instance,
                Normalizer = NfcNormalizer.Instance,
                SpecialTokens = special,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw LlavaModException.ForFile(sourceName, $"vocabulary and merges do not form a valid BPE tokenizer: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads a tokenizer from a <c>tokenizer.json</c> file, a folder holding one, or a folder with
    /// <c>vocab.json</c> + <c>merges.txt</c> (added tokens from <c>tokenizer_config.json</c> /
    /// <c>added_tokens.json</c>).
    /// </summary>
    public static QwenTokenizer Load(string path)
    {
        NfcNormalizer.EnsureAvailable();
        return new QwenTokenizer(TokenizerFiles.Read(path), path);
    }

    /// <summary>The Qwen tokenizer.json shipped next to this assembly (Assets/QwenTokenizer).</summary>
    public static string BundledPath { get; } =
        Path.Combine(AppContext.BaseDirectory, "Assets", "QwenTokenizer", TokenizerFiles.TokenizerJson);

    /// <summary>sha256 over the files the tokenizer was read from (name + content hash of each).</summary>
    public string Fingerprint { get; }

    /// <summary>Largest token id + 1, added tokens included (the embedding table needs at least this many rows).</summary>
    public int VocabularySize { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>.</summary>
    public int EndOfTextId { get; }

    /// <summary>Added tokens (special or not) by text.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens => _addedTokens;

    /// <summary>Encodes text as Hugging Face does; added tokens in the text become their single ids.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (_addedTokenSplitter is null)
        {
            AppendPlain(text, ids);
            return ids;
        }
        int pos = 0;
        for (Match m = _addedTokenSplitter.Match(text); m.Success; m = m.NextMatch())
        {
            if (m.Index > pos) AppendPlain(text.Substring(pos, m.Index - pos), ids);
            ids.Add(_addedTokens[m.Value]);
            pos = m.Index + m.Length;
        }
        if (pos < text.Length) AppendPlain(pos == 0 ? text : text.Substring(pos), ids);
        return ids;
    }

    void AppendPlain(string text, List<int> ids) =>
        ids.AddRange(_bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true));

    /// <summary>
    /// Decodes ids to text, added tokens written out. <see cref="ChatTemplate.ImagePlaceholderId"/>
    /// is written as <c>&lt;image&gt;</c>; other unknown ids are an error.
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (id == ChatTemplate.ImagePlaceholderId)
            {
                FlushRun(run, text);
                text.Append(ChatTemplate.ImageTag);
                continue;
            }
            if (id < 0 || id >= VocabularySize)
                throw new LlavaModException($"token id {id} is outside the tokenizer's vocabulary (0..{VocabularySize - 1})");
            run.Add(id);
        }
        FlushRun(run, text);
        return text.ToString();
    }

    void FlushRun(List<int> run, StringBuilder text)
    {
        if (run.Count == 0) return;
        text.Append(_bpe.Decode(run, considerSpecialTokens: true));
        run.Clear();
    }

    /// <summary>Id of a token as written in the vocabulary (byte-level form, e.g. "Ġthe") or an added token; null if absent.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_addedTokens.TryGetValue(token, out int id)) return id;
        return _vocabulary.TryGetValue(token, out id) ? id : null;
    }

    /// <summary>Text of an added token id, or null.</summary>
    internal string? AddedTokenText(int id) => _addedTokensById.GetValueOrDefault(id);
}
