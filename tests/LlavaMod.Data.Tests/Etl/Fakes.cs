using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Sources;
using SixLabors.ImageSharp;

namespace LlavaMod.Data.Tests.Etl;

/// <summary>A stand-in encoder: one id per whitespace word (a stable hash), -200 for the image tag, mask 1 on assistant words.</summary>
sealed class FakeEncoder : IConversationEncoder
{
    public int MaxTokens { get; init; } = 1000;
    public string TokenizerFingerprint => "fake-tokenizer";
    public string TemplateName => "fake";
    public int VocabularySize => 50000;
    public string Fingerprint => $"fake/{MaxTokens}";

    public static int WordId(string w) => w == "<image>" ? -200 : (int)(BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(w))) % 50000);

    public EncodedConversation Encode(IReadOnlyList<SourceTurn> turns)
    {
        var ids = new List<int>(); var mask = new List<byte>();
        foreach (var t in turns)
            foreach (var w in (t.Role + ": " + t.Text).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
            { ids.Add(WordId(w)); mask.Add(t.Role == SourceTurn.Assistant ? (byte)1 : (byte)0); }
        if (ids.Count > MaxTokens) throw new RowRejectedException("too_long", $"{ids.Count} tokens > {MaxTokens}");
        return new EncodedConversation(ids.ToArray(), mask.ToArray());
    }

    public EncodedPreference EncodePreference(IReadOnlyList<SourceTurn> prompt, string chosen, string rejected)
    {
        var p = Encode(prompt).InputIds;
        int[] Answer(string a) => a.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(WordId).ToArray();
        return new EncodedPreference(Render(prompt), p, Answer(chosen), Answer(rejected));
    }

    public string Render(IReadOnlyList<SourceTurn> turns) => string.Join("\n", turns.Select(t => t.Role + ": " + t.Text));
}

/// <summary>A stand-in image stage: identifies the image with ImageSharp and keeps its bytes unchanged.</summary>
sealed class FakeImageStage : IImageStage
{
    public string SettingsFingerprint => "keep";

    public StoredImage Process(byte[] original, string sourceName)
    {
        IImageInfo? info;
        try { info = Image.Identify(original); }
        catch (Exception e) { throw new RowRejectedException("image_unreadable", $"{sourceName}: {e.Message}"); }
        if (info is null) throw new RowRejectedException("image_unreadable", $"{sourceName}: not an image");
        return new StoredImage(original, "png", "png", info.Width, info.Height, info.Width, info.Height, Hashing.Sha256Hex(original));
    }
}
