using LlavaMod.Core;

namespace LlavaMod.Preferences;

/// <summary>Natural keys and split assignment that do not depend on insertion order.</summary>
public static class PromptKeys
{
    /// <summary>distilabel-style prompt id: sha256 of the prompt text, plus the image path when there
    /// is one (the same question about two images is two prompts).</summary>
    public static string For(string promptText, string? imagePath) =>
        Hashing.Sha256Hex(imagePath is null ? promptText : $"{promptText}\0{imagePath}");

    /// <summary>Deterministic split by prompt key: all pairs of one prompt land in the same split, and
    /// about <paramref name="valFraction"/> of the prompts go to val.</summary>
    public static PairSplit SplitFor(string promptKey, double valFraction)
    {
        if (valFraction is < 0 or > 1) throw new LlavaModException($"val fraction {valFraction} is not within [0, 1]");
        if (valFraction == 0) return PairSplit.Train;
        string hex = Hashing.Sha256Hex("split\0" + promptKey);
        ulong v = Convert.ToUInt64(hex[..16], 16);
        return v / (double)ulong.MaxValue < valFraction ? PairSplit.Val : PairSplit.Train;
    }
}
