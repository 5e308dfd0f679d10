using LlavaMod.Core;
using LlavaMod.Data.Sources;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Etl;

/// <summary>
/// The shard pipeline's encoder over the Qwen tokenizer and a chat template: ids and loss mask of a
/// conversation, cut to the token budget (<see cref="TokenBudget"/>); preference rows as prompt ids
/// plus each answer's ids as the template continues the prompt.
/// </summary>
public sealed class TemplateConversationEncoder : IConversationEncoder
{
    readonly ChatTemplate _template;
    readonly int _maxTokens;
    readonly OverLengthPolicy _policy;

    public TemplateConversationEncoder(QwenTokenizer tokenizer, ChatTemplateKind kind, string? systemPrompt, int maxTokens, OverLengthPolicy policy)
    {
        if (maxTokens < 1) throw new LlavaModException("--max-tokens must be at least 1");
        _template = ChatTemplate.Create(kind, tokenizer, systemPrompt);
        _maxTokens = maxTokens;
        _policy = policy;
        Tokenizer = tokenizer;
        TemplateName = kind.CliName();
        TokenizerFingerprint = tokenizer.Fingerprint;
        VocabularySize = tokenizer.VocabularySize;
        Fingerprint = Hashing.Sha256Hex($"{tokenizer.Fingerprint}\n{TemplateName}\n{systemPrompt ?? "(default)"}\n{maxTokens}\n{policy}");
    }

    public QwenTokenizer Tokenizer { get; }
    public string TokenizerFingerprint { get; }
    public int VocabularySize { get; }
    public string TemplateName { get; }
    public string Fingerprint { get; }

    public EncodedConversation Encode(IReadOnlyList<SourceTurn> turns)
    {
        var tokenized = TokenBudget.Apply(_template.Tokenize(ToChat(turns)), _maxTokens, _policy);
        return new EncodedConversation(tokenized.InputIds, tokenized.LabelMask);
    }

    public EncodedPreference EncodePreference(IReadOnlyList<SourceTurn> promptTurns, string chosen, string rejected)
    {
        var prompt = ToChat(promptTurns);
        int[] promptIds = _template.TokenizePrompt(prompt);
        return new EncodedPreference(_template.RenderPrompt(prompt), promptIds, Answer(prompt, promptIds, chosen), Answer(prompt, promptIds, rejected));
    }

    int[] Answer(IReadOnlyList<ChatTurn> prompt, int[] promptIds, string answer)
    {
        var full = TokenBudget.Apply(_template.Tokenize([.. prompt, new ChatTurn(ChatTurn.Assistant, answer)]), _maxTokens, _policy);
        if (full.InputIds.Length <= promptIds.Length || !full.InputIds.AsSpan(0, promptIds.Length).SequenceEqual(promptIds))
            throw new RowRejectedException("too_many_tokens", $"the prompt alone fills the token budget of {_maxTokens}");
        return full.InputIds[promptIds.Length..];
    }

    public string Render(IReadOnlyList<SourceTurn> turns) => _template.Render(ToChat(turns));

    static ChatTurn[] ToChat(IReadOnlyList<SourceTurn> turns) => turns.Select(t => new ChatTurn(t.Role, t.Text)).ToArray();
}
