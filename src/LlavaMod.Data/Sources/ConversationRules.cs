using LlavaMod.Core;

namespace LlavaMod.Data.Sources;

/// <summary>
/// The checks every record passes before it is processed: a user turn and an assistant turn,
/// at most one image tag, an image tag only with an image. A row with an image but no tag gets
/// "&lt;image&gt;\n" before its first user turn (what LLaVA's own preprocessing assumes).
/// </summary>
public static class ConversationRules
{
    public const string ImageTag = "<image>";

    public static IReadOnlyList<SourceTurn> Normalise(SourceRecord record)
    {
        var turns = record.Turns;
        bool hasImage = record.Image is not null;
        if (!turns.Any(t => t.Role == SourceTurn.User))
            throw new RowRejectedException(RejectReasons.NoUserTurn, "conversation has no user turn");
        if (!record.IsPreference && !turns.Any(t => t.Role == SourceTurn.Assistant))
            throw new RowRejectedException(RejectReasons.NoAssistantTurn, "conversation has no assistant turn");

        int tags = turns.Sum(t => CountTags(t.Text));
        if (record.Preference is { } p) tags += CountTags(p.Chosen) + CountTags(p.Rejected);
        if (tags > 1)
            throw new RowRejectedException(RejectReasons.MultipleImageTags, $"conversation has {tags} '{ImageTag}' tags; at most one is supported");
        if (tags == 1 && !hasImage)
            throw new RowRejectedException(RejectReasons.ImageTagWithoutImage, $"conversation has an '{ImageTag}' tag but the row has no image");
        if (tags == 0 && hasImage)
        {
            int first = turns.ToList().FindIndex(t => t.Role == SourceTurn.User);
            var copy = turns.ToArray();
            copy[first] = copy[first] with { Text = ImageTag + "\n" + copy[first].Text };
            return copy;
        }
        return turns;
    }

    static int CountTags(string text)
    {
        int n = 0, at = 0;
        while ((at = text.IndexOf(ImageTag, at, StringComparison.Ordinal)) >= 0) { n++; at += ImageTag.Length; }
        return n;
    }
}
