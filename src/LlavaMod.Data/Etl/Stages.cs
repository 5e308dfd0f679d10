using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Etl;

/// <summary>Token ids of a conversation with its loss mask (1 on assistant tokens).</summary>
public sealed record EncodedConversation(int[] InputIds, byte[] LabelMask);

/// <summary>Token ids of a preference row: the prompt, and each answer as the template continues the prompt.</summary>
public sealed record EncodedPreference(string PromptText, int[] PromptIds, int[] ChosenIds, int[] RejectedIds);

/// <summary>
/// Chat template + tokenizer + token budget, as the shard pipeline uses them. Implementations throw
/// <see cref="Core.RowRejectedException"/> for rows that cannot be encoded (e.g. over length).
/// </summary>
public interface IConversationEncoder
{
    /// <summary>Identifies the tokenizer (vocabulary, merges, special tokens).</summary>
    string TokenizerFingerprint { get; }
    /// <summary>Token ids are below this (besides the image placeholder); recorded in the manifest.</summary>
    int VocabularySize { get; }
    /// <summary>Template name, e.g. "qwen" or "chatml".</summary>
    string TemplateName { get; }
    /// <summary>Everything that changes the ids: tokenizer, template, system prompt, token budget.</summary>
    string Fingerprint { get; }
    EncodedConversation Encode(IReadOnlyList<SourceTurn> turns);
    EncodedPreference EncodePreference(IReadOnlyList<SourceTurn> promptTurns, string chosen, string rejected);
    /// <summary>The text the template renders for a conversation (inspect shows it).</summary>
    string Render(IReadOnlyList<SourceTurn> turns);
}

/// <summary>The stored form of one image after validation and resizing.</summary>
public sealed record StoredImage(
    byte[] Bytes, string Format, string OriginalFormat,
    int OriginalWidth, int OriginalHeight, int Width, int Height, string OriginalSha256);

/// <summary>Decodes, checks and resizes one image; throws <see cref="Core.RowRejectedException"/> for unusable images.</summary>
public interface IImageStage
{
    string SettingsFingerprint { get; }
    StoredImage Process(byte[] original, string sourceName);
}
