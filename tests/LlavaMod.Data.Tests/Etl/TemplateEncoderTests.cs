using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Sources;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Etl;

/// <summary>The pipeline's encoder over the real Qwen tokenizer and templates.</summary>
public class TemplateEncoderTests
{
    static readonly QwenTokenizer Tokenizer = QwenTokenizer.Load(QwenTokenizer.BundledPath);

    [Theory]
    [InlineData(ChatTemplateKind.Qwen)]
    [InlineData(ChatTemplateKind.ChatMl)]
    public void Preference_answers_continue_the_prompt_ids(ChatTemplateKind kind)
    {
        var encoder = new TemplateConversationEncoder(Tokenizer, kind, null, 512, OverLengthPolicy.Reject);
        SourceTurn[] prompt = [new(SourceTurn.User, "<image>\nWhat colour is the square?")];
        var p = encoder.EncodePreference(prompt, "It is green.", "It is red.");

        var template = ChatTemplate.Create(kind, Tokenizer);
        var full = template.Tokenize([new ChatTurn("user", prompt[0].Text), new ChatTurn("assistant", "It is green.")]);
        Assert.Equal(full.InputIds, p.PromptIds.Concat(p.ChosenIds));
        Assert.Equal(template.RenderPrompt([new ChatTurn("user", prompt[0].Text)]), p.PromptText);
        Assert.Contains("It is red.", Tokenizer.Decode(p.RejectedIds));
        Assert.Equal(1, p.PromptIds.Count(id => id == ChatTemplate.ImagePlaceholderId));
    }

    [Fact]
    public void Over_budget_rows_are_rejected_or_truncated_and_the_budget_changes_the_fingerprint()
    {
        SourceTurn[] turns = [new("user", "Count."), new("assistant", string.Join(' ', Enumerable.Range(0, 200)))];
        var reject = new TemplateConversationEncoder(Tokenizer, ChatTemplateKind.Qwen, null, 64, OverLengthPolicy.Reject);
        Assert.Equal("too_many_tokens", Assert.Throws<RowRejectedException>(() => reject.Encode(turns)).ReasonCode);
        var truncate = new TemplateConversationEncoder(Tokenizer, ChatTemplateKind.Qwen, null, 64, OverLengthPolicy.Truncate);
        Assert.Equal(64, truncate.Encode(turns).InputIds.Length);
        Assert.NotEqual(reject.Fingerprint, truncate.Fingerprint);
        Assert.Equal(Tokenizer.Fingerprint, reject.TokenizerFingerprint);
    }
}
