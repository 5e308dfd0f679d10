using System.Text;
using LlavaMod.Core;

namespace LlavaMod.Data.Text;

/// <summary>
/// Renders conversations in one chat format and tokenizes them with a label mask.
/// <para>
/// <b>qwen</b> (LLaVA-MoD <c>--version qwen</c>, which is LLaVA's <c>conv_phi</c>:
/// <c>SeparatorStyle.TWO</c>, roles USER/ASSISTANT, sep " ", sep2 "&lt;|endoftext|&gt;"):
/// <c>SYSTEM + " " + "USER: " + u1 + " " + "ASSISTANT: " + a1 + "&lt;|endoftext|&gt;" + "USER: " + u2 + …</c>;
/// a generation prompt ends with "ASSISTANT:".
/// <b>chatml</b>: <c>"&lt;|im_start|&gt;system\n" + SYSTEM + "&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n" + u1 + "&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n" + a1 + "&lt;|im_end|&gt;\n"</c>…
/// </para>
/// <para>
/// Tokenization goes segment by segment: template text and user turns (unsupervised) alternate
/// with assistant segments (supervised). For qwen the assistant segment is " " + answer +
/// "&lt;|endoftext|&gt;": the space belongs to the answer's first token (" The"), exactly what
/// LLaVA-MoD's <c>preprocess_phi</c> labels, and the pre-tokenizer always splits between ":" and a
/// space, so the ids equal those of the whole rendered text. For chatml the assistant segment is
/// answer + "&lt;|im_end|&gt;" after the prompt "…assistant\n". An answer starting with a line break
/// would be merged into the "\n" token when the whole text is tokenized at once; we keep the
/// segment boundary there on purpose, so training ids match what the model sees at generation
/// (the prompt always ends with its own "\n" token). "&lt;image&gt;" is cut out of the text before
/// tokenizing, as LLaVA's <c>tokenizer_image_token</c> does, and becomes one
/// <see cref="ImagePlaceholderId"/>, never supervised.
/// </para>
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>LLaVA's IMAGE_TOKEN_INDEX; the trainer expands it into the vision tokens.</summary>
    public const int ImagePlaceholderId = -200;

    /// <summary>The image tag in conversation text.</summary>
    public const string ImageTag = "<image>";

    /// <summary>LLaVA's system prompt of the conv_phi / qwen template.</summary>
    public const string QwenDefaultSystemPrompt =
        "A chat between a curious user and an artificial intelligence assistant. " +
        "The assistant gives helpful, detailed, and polite answers to the user's questions.";

    /// <summary>Qwen's default ChatML system prompt.</summary>
    public const string ChatMlDefaultSystemPrompt = "You are a helpful assistant.";

    const string ImStart = "<|im_start|>";
    const string ImEnd = "<|im_end|>";

    readonly QwenTokenizer _tokenizer;
    readonly string _systemPrompt;

    ChatTemplate(ChatTemplateKind kind, QwenTokenizer tokenizer, string systemPrompt)
    {
        Kind = kind;
        _tokenizer = tokenizer;
        _systemPrompt = systemPrompt;
    }

    /// <summary>A template of <paramref name="kind"/>; <paramref name="systemPrompt"/> null = the format's default.</summary>
    public static ChatTemplate Create(ChatTemplateKind kind, QwenTokenizer tokenizer, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        string defaultPrompt = kind switch
        {
            ChatTemplateKind.Qwen => QwenDefaultSystemPrompt,
            ChatTemplateKind.ChatMl => ChatMlDefaultSystemPrompt,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        if (kind == ChatTemplateKind.ChatMl && tokenizer.TokenToId(ImStart) is null)
            throw new LlavaModException($"the chatml template needs {ImStart} and {ImEnd} in the tokenizer's added tokens");
        return new ChatTemplate(kind, tokenizer, systemPrompt ?? defaultPrompt);
    }

    public ChatTemplateKind Kind { get; }

    /// <summary>The full text a model sees ("&lt;image&gt;" kept literally).</summary>
    public string Render(IReadOnlyList<ChatTurn> turns) => Concat(BuildSegments(turns, forPrompt: false));

    /// <summary>Text up to and including the assistant prefix, for generation.</summary>
    public string RenderPrompt(IReadOnlyList<ChatTurn> turnsEndingWithUser) => Concat(BuildSegments(turnsEndingWithUser, forPrompt: true));

    /// <summary>Ids and label mask of a conversation that ends with an assistant turn.</summary>
    public TokenizedConversation Tokenize(IReadOnlyList<ChatTurn> turns) => TokenizeSegments(BuildSegments(turns, forPrompt: false));

    /// <summary>Ids of the generation prompt (ends with the assistant prefix).</summary>
    public int[] TokenizePrompt(IReadOnlyList<ChatTurn> turnsEndingWithUser) =>
        TokenizeSegments(BuildSegments(turnsEndingWithUser, forPrompt: true)).InputIds;

    /// <summary>One piece of rendered text and whether its tokens are supervised.</summary>
    internal readonly record struct Segment(string Text, bool Supervised);

    internal List<Segment> BuildSegments(IReadOnlyList<ChatTurn> turns, bool forPrompt)
    {
        ArgumentNullException.ThrowIfNull(turns);
        string system = _systemPrompt;
        int start = 0;
        if (turns.Count > 0 && turns[0].Role == ChatTurn.System)
        {
            system = turns[0].Text;
            start = 1;
        }
        int count = turns.Count - start;
        if (count == 0) throw new RowRejectedException("empty_conversation", "conversation has no user turn");
        for (int i = start; i < turns.Count; i++)
        {
            string expected = (i - start) % 2 == 0 ? ChatTurn.User : ChatTurn.Assistant;
            if (turns[i].Role != expected)
                throw new RowRejectedException("bad_turn_order",
                    $"turn {i} is \"{turns[i].Role}\" where \"{expected}\" was expected (turns must alternate user, assistant, starting with user)");
            if (expected == ChatTurn.Assistant && string.IsNullOrWhiteSpace(turns[i].Text))
                throw new RowRejectedException("empty_assistant_turn", $"turn {i} (assistant) is empty");
        }
        bool endsWithUser = count % 2 == 1;
        if (forPrompt && !endsWithUser)
            throw new ArgumentException("a generation prompt must end with a user turn", nameof(turns));
        if (!forPrompt && endsWithUser)
            throw new RowRejectedException("bad_turn_order", "conversation ends with a user turn; nothing to supervise");

        var segments = new List<Segment>();
        var pending = new StringBuilder();
        pending.Append(Kind == ChatTemplateKind.Qwen ? system + " " : ImStart + "system\n" + system + ImEnd + "\n");
        for (int i = start; i < turns.Count; i += 2)
        {
            string user = turns[i].Text;
            if (Kind == ChatTemplateKind.Qwen) pending.Append("USER: ").Append(user).Append(" ASSISTANT:");
            else pending.Append(ImStart).Append("user\n").Append(user).Append(ImEnd).Append('\n').Append(ImStart).Append("assistant\n");
            if (i + 1 >= turns.Count) break;
            segments.Add(new Segment(pending.ToString(), false));
            pending.Clear();
            string answer = turns[i + 1].Text;
            if (Kind == ChatTemplateKind.Qwen)
            {
                segments.Add(new Segment(" " + answer + QwenTokenizer.EndOfTextToken, true));
            }
            else
            {
                segments.Add(new Segment(answer + ImEnd, true));
                pending.Append('\n');
            }
        }
        if (pending.Length > 0) segments.Add(new Segment(pending.ToString(), false));
        return segments;
    }

    static string Concat(List<Segment> segments)
    {
        var sb = new StringBuilder();
        foreach (var s in segments) sb.Append(s.Text);
        return sb.ToString();
    }

    TokenizedConversation TokenizeSegments(List<Segment> segments)
    {
        var ids = new List<int>();
        var mask = new List<byte>();
        int images = 0;
        foreach (var segment in segments)
        {
            string text = segment.Text;
            int pos = 0;
            while (true)
            {
                int tag = text.IndexOf(ImageTag, pos, StringComparison.Ordinal);
                int end = tag < 0 ? text.Length : tag;
                if (end > pos)
                {
                    var chunk = _tokenizer.Encode(text.Substring(pos, end - pos));
                    ids.AddRange(chunk);
                    for (int k = 0; k < chunk.Count; k++) mask.Add(segment.Supervised ? (byte)1 : (byte)0);
                }
                if (tag < 0) break;
                ids.Add(ImagePlaceholderId);
                mask.Add(0);
                images++;
                pos = tag + ImageTag.Length;
            }
        }
        return new TokenizedConversation(ids.ToArray(), mask.ToArray(), images);
    }
}
