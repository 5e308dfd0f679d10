using LlavaMod.Core;

namespace LlavaMod.Data.Text;

/// <summary>What to do with a conversation longer than <c>--max-tokens</c>.</summary>
public enum OverLengthPolicy
{
    /// <summary>Reject the row ("too_many_tokens").</summary>
    Reject,

    /// <summary>Keep the first tokens; reject only if that would lose an image or every label.</summary>
    Truncate,
}

/// <summary>Applies <c>--max-tokens</c> with a recorded <see cref="OverLengthPolicy"/>.</summary>
public static class TokenBudget
{
    /// <summary>
    /// Returns the conversation unchanged when it fits, else rejects it or keeps its first
    /// <paramref name="maxTokens"/> ids. Truncation never cuts through an image placeholder (a row
    /// whose image would be cut off is rejected: "image_placeholder_truncated") and rejects a row
    /// left without any supervised token ("no_supervised_tokens_after_truncation").
    /// </summary>
    public static TokenizedConversation Apply(TokenizedConversation conversation, int maxTokens, OverLengthPolicy policy) =>
        Apply(conversation, maxTokens, policy, tokensPerImage: 1);

    /// <summary>
    /// As <see cref="Apply(TokenizedConversation,int,OverLengthPolicy)"/>, counting each image
    /// placeholder as <paramref name="tokensPerImage"/> tokens (e.g. 576 vision tokens), the length
    /// the language model really sees.
    /// </summary>
    public static TokenizedConversation Apply(TokenizedConversation conversation, int maxTokens, OverLengthPolicy policy, int tokensPerImage)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        if (maxTokens <= 0) throw new ArgumentOutOfRangeException(nameof(maxTokens), "must be positive");
        if (tokensPerImage <= 0) throw new ArgumentOutOfRangeException(nameof(tokensPerImage), "must be positive");
        if (conversation.InputIds.Length != conversation.LabelMask.Length)
            throw new ArgumentException("InputIds and LabelMask differ in length", nameof(conversation));

        long length = EffectiveLength(conversation.InputIds, conversation.InputIds.Length, tokensPerImage);
        if (length <= maxTokens) return conversation;

        if (policy == OverLengthPolicy.Reject)
            throw new RowRejectedException("too_many_tokens", $"conversation has {length} tokens, more than --max-tokens {maxTokens}");

        // Longest prefix whose effective length fits.
        int keep = 0;
        long used = 0;
        foreach (int id in conversation.InputIds)
        {
            long cost = id == ChatTemplate.ImagePlaceholderId ? tokensPerImage : 1;
            if (used + cost > maxTokens) break;
            used += cost;
            keep++;
        }
        int keptImages = 0;
        for (int i = 0; i < keep; i++)
            if (conversation.InputIds[i] == ChatTemplate.ImagePlaceholderId) keptImages++;
        if (keptImages < conversation.ImagePlaceholderCount)
            throw new RowRejectedException("image_placeholder_truncated",
                $"truncating to --max-tokens {maxTokens} would cut off an image placeholder (conversation has {length} tokens)");

        var ids = conversation.InputIds[..keep];
        var mask = conversation.LabelMask[..keep];
        if (Array.IndexOf(mask, (byte)1) < 0)
            throw new RowRejectedException("no_supervised_tokens_after_truncation",
                $"after truncating {length} tokens to --max-tokens {maxTokens} no supervised (assistant) token remains");
        return new TokenizedConversation(ids, mask, keptImages);
    }

    static long EffectiveLength(int[] ids, int count, int tokensPerImage)
    {
        long n = 0;
        for (int i = 0; i < count; i++) n += ids[i] == ChatTemplate.ImagePlaceholderId ? tokensPerImage : 1;
        return n;
    }
}
