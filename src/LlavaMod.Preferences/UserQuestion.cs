namespace LlavaMod.Preferences;

/// <summary>
/// The user's question of a stored prompt: what exports, lists and imports show and write. Mined
/// prompts store the question itself; indexes written before that (and files exported from them)
/// hold the rendered generation prompt instead, so a rendered prompt is recognised and cut back to
/// its last user turn — the question is never rendered into a template twice. Both of the
/// toolkit's templates are recognised: qwen ("SYSTEM USER: q ASSISTANT:") and chatml
/// ("…&lt;|im_start|&gt;user\nq&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n"). The image token is not part
/// of the question: whether a prompt has an image is the prompt's image path.
/// </summary>
public static class UserQuestion
{
    public const string ImageToken = "<image>";
    const string QwenUser = "USER: ", QwenAssistant = " ASSISTANT:";
    const string ChatMlUser = "<|im_start|>user\n", ChatMlEnd = "<|im_end|>", ChatMlAssistant = "<|im_start|>assistant\n";

    /// <summary>The question inside <paramref name="text"/> (a question or a rendered prompt), without the image token.</summary>
    public static string Of(string text) => StripImageToken(Unrender(text));

    /// <summary>Whether <paramref name="text"/> is a generation prompt rendered in one of our chat templates.</summary>
    public static bool IsRendered(string text) => !ReferenceEquals(Unrender(text), text);

    static string Unrender(string text)
    {
        string t = text.TrimEnd(' ');
        if (t.EndsWith(QwenAssistant, StringComparison.Ordinal))
        {
            int user = t.LastIndexOf(QwenUser, StringComparison.Ordinal);
            if (user >= 0) return t[(user + QwenUser.Length)..^QwenAssistant.Length];
        }
        if (text.EndsWith(ChatMlAssistant, StringComparison.Ordinal))
        {
            int user = text.LastIndexOf(ChatMlUser, StringComparison.Ordinal);
            int end = user < 0 ? -1 : text.IndexOf(ChatMlEnd, user, StringComparison.Ordinal);
            if (end >= 0) return text[(user + ChatMlUser.Length)..end];
        }
        return text;
    }

    /// <summary>Removes the image token LLaVA puts before ("&lt;image&gt;\n…") or after ("…\n&lt;image&gt;") the question.</summary>
    public static string StripImageToken(string human)
    {
        if (human.StartsWith(ImageToken + "\n", StringComparison.Ordinal)) human = human[(ImageToken.Length + 1)..];
        else if (human.EndsWith("\n" + ImageToken, StringComparison.Ordinal)) human = human[..^(ImageToken.Length + 1)];
        return human.Replace(ImageToken, "", StringComparison.Ordinal);
    }
}
