using LlavaMod.Core;

namespace LlavaMod.Data.Text;

/// <summary>Which chat format conversations are rendered in. CLI names: "qwen", "chatml".</summary>
public enum ChatTemplateKind
{
    /// <summary>LLaVA-MoD's <c>--version qwen</c>: "SYSTEM USER: … ASSISTANT: …&lt;|endoftext|&gt;".</summary>
    Qwen,

    /// <summary>Qwen's own ChatML: "&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;\n".</summary>
    ChatMl,
}

/// <summary>Parsing and naming of <see cref="ChatTemplateKind"/> for the command line and manifests.</summary>
public static class ChatTemplateKinds
{
    public static string CliName(this ChatTemplateKind kind) => kind switch
    {
        ChatTemplateKind.Qwen => "qwen",
        ChatTemplateKind.ChatMl => "chatml",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static ChatTemplateKind Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "qwen" => ChatTemplateKind.Qwen,
        "chatml" => ChatTemplateKind.ChatMl,
        _ => throw new LlavaModException($"unknown chat template \"{name}\" (expected \"qwen\" or \"chatml\")"),
    };
}

/// <summary>One turn of a conversation. <see cref="Role"/> is "system", "user" or "assistant".</summary>
public sealed record ChatTurn(string Role, string Text)
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    /// <summary>Maps LLaVA's "from" values (human/gpt, also user/assistant/system) to a role.</summary>
    public static string FromLlavaRole(string from) => from.Trim().ToLowerInvariant() switch
    {
        "human" or "user" => User,
        "gpt" or "assistant" => Assistant,
        "system" => System,
        _ => throw new RowRejectedException("unknown_role", $"unknown conversation role \"{from}\" (expected human, gpt or system)"),
    };

    public static ChatTurn FromLlava(string from, string value) => new(FromLlavaRole(from), value);
}

/// <summary>
/// Token ids of a rendered conversation. <see cref="LabelMask"/>[i] is 1 where token i is
/// supervised (assistant text and its closing end token). Image placeholders appear as
/// <see cref="ChatTemplate.ImagePlaceholderId"/>, counted in <see cref="ImagePlaceholderCount"/>.
/// </summary>
public sealed record TokenizedConversation(int[] InputIds, byte[] LabelMask, int ImagePlaceholderCount)
{
    public int Length => InputIds.Length;

    public int SupervisedCount
    {
        get
        {
            int n = 0;
            foreach (byte b in LabelMask) n += b;
            return n;
        }
    }
}
