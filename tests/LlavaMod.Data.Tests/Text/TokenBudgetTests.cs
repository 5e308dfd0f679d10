using LlavaMod.Core;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Text;

public sealed class TokenBudgetTests(TokenizerFixture fx) : IClassFixture<TokenizerFixture>
{
    const int Img = ChatTemplate.ImagePlaceholderId;

    // 10 tokens: image at 1, labels at 6..9
    static TokenizedConversation Sample() => new(
        [5, Img, 7, 8, 9, 10, 11, 12, 13, 14],
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
        1);

    [Fact]
    public void Fitting_conversation_is_returned_unchanged()
    {
        var c = Sample();
        Assert.Same(c, TokenBudget.Apply(c, 10, OverLengthPolicy.Reject));
        Assert.Same(c, TokenBudget.Apply(c, 10, OverLengthPolicy.Truncate));
    }

    [Fact]
    public void Reject_policy_rejects_over_length_rows()
    {
        var e = Assert.Throws<RowRejectedException>(() => TokenBudget.Apply(Sample(), 9, OverLengthPolicy.Reject));
        Assert.Equal("too_many_tokens", e.ReasonCode);
        Assert.Contains("10", e.Message);
    }

    [Fact]
    public void Truncate_keeps_the_first_tokens_and_their_labels()
    {
        var t = TokenBudget.Apply(Sample(), 8, OverLengthPolicy.Truncate);
        Assert.Equal([5, Img, 7, 8, 9, 10, 11, 12], t.InputIds);
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1], t.LabelMask);
        Assert.Equal(1, t.ImagePlaceholderCount);
    }

    [Fact]
    public void Truncate_rejects_when_no_label_remains()
    {
        var e = Assert.Throws<RowRejectedException>(() => TokenBudget.Apply(Sample(), 6, OverLengthPolicy.Truncate));
        Assert.Equal("no_supervised_tokens_after_truncation", e.ReasonCode);
    }

    [Fact]
    public void Truncate_never_cuts_off_an_image_placeholder()
    {
        var late = new TokenizedConversation([1, 2, 3, 4, Img, 6], [1, 1, 0, 0, 0, 1], 1);
        var e = Assert.Throws<RowRejectedException>(() => TokenBudget.Apply(late, 4, OverLengthPolicy.Truncate));
        Assert.Equal("image_placeholder_truncated", e.ReasonCode);
        Assert.Equal([1, 2, 3, 4, Img], TokenBudget.Apply(late, 5, OverLengthPolicy.Truncate).InputIds);
    }

    [Fact]
    public void Image_can_count_as_its_vision_tokens()
    {
        // 9 text tokens + 1 image of 576 tokens = 585
        Assert.Equal("too_many_tokens",
            Assert.Throws<RowRejectedException>(() => TokenBudget.Apply(Sample(), 584, OverLengthPolicy.Reject, tokensPerImage: 576)).ReasonCode);
        var t = TokenBudget.Apply(Sample(), 583, OverLengthPolicy.Truncate, tokensPerImage: 576);
        Assert.Equal(8, t.InputIds.Length);   // 7 text + image = 583
    }

    [Fact]
    public void Real_conversation_truncates_inside_the_answer()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        var full = template.Tokenize([new("user", "<image>\nDescribe."), new("assistant", "A long answer with many words in it.")]);
        int firstLabel = Array.IndexOf(full.LabelMask, (byte)1);
        var t = TokenBudget.Apply(full, firstLabel + 2, OverLengthPolicy.Truncate);
        Assert.Equal(2, t.SupervisedCount);
        Assert.Equal(full.InputIds[..(firstLabel + 2)], t.InputIds);
    }
}
