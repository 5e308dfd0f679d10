using LlavaMod.Core;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Text;

/// <summary>Rendered text of both templates, checked against the formats of LLaVA's and Qwen's code.</summary>
public sealed class ChatTemplateRenderTests(TokenizerFixture fx) : IClassFixture<TokenizerFixture>
{
    const string LlavaSystem = "A chat between a curious user and an artificial intelligence assistant. " +
                               "The assistant gives helpful, detailed, and polite answers to the user's questions.";

    static readonly ChatTurn[] TwoRounds =
    [
        new("user", "<image>\nWhat is in the picture?"),
        new("assistant", "A black cat on a sofa."),
        new("user", "What colour is the sofa?"),
        new("assistant", "Red."),
    ];

    /// <summary>LLaVA conversation.py, Conversation.get_prompt for SeparatorStyle.TWO (conv_phi = "qwen").</summary>
    static string LlavaGetPromptTwo(string system, IReadOnlyList<(string Role, string? Message)> messages, string sep = " ", string sep2 = "<|endoftext|>")
    {
        string[] seps = [sep, sep2];
        string ret = system + seps[0];
        for (int i = 0; i < messages.Count; i++)
        {
            var (role, message) = messages[i];
            ret += string.IsNullOrEmpty(message) ? role + ":" : role + ": " + message + seps[i % 2];
        }
        return ret;
    }

    static List<(string, string?)> AsLlavaMessages(IEnumerable<ChatTurn> turns) =>
        turns.Select(t => (t.Role == "user" ? "USER" : "ASSISTANT", (string?)t.Text)).ToList();

    [Fact]
    public void Qwen_render_is_llava_separator_style_two()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        Assert.Equal(ChatTemplateKind.Qwen, template.Kind);
        Assert.Equal(
            LlavaSystem + " USER: <image>\nWhat is in the picture? ASSISTANT: A black cat on a sofa.<|endoftext|>" +
            "USER: What colour is the sofa? ASSISTANT: Red.<|endoftext|>",
            template.Render(TwoRounds));
        Assert.Equal(LlavaGetPromptTwo(LlavaSystem, AsLlavaMessages(TwoRounds)), template.Render(TwoRounds));
    }

    [Fact]
    public void Qwen_prompt_ends_with_assistant_colon_as_llava_does_for_an_empty_message()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        var turns = TwoRounds.Take(3).ToArray();
        var messages = AsLlavaMessages(turns);
        messages.Add(("ASSISTANT", null));
        Assert.Equal(LlavaGetPromptTwo(LlavaSystem, messages), template.RenderPrompt(turns));
        Assert.EndsWith("USER: What colour is the sofa? ASSISTANT:", template.RenderPrompt(turns));
    }

    [Fact]
    public void Qwen_custom_system_prompt_and_system_turn()
    {
        var custom = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours, "Be brief.");
        Assert.Equal("Be brief. USER: Hi ASSISTANT: Hello.<|endoftext|>", custom.Render([new("user", "Hi"), new("assistant", "Hello.")]));
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        Assert.Equal("Sys. USER: Hi ASSISTANT:", template.RenderPrompt([new("system", "Sys."), new("user", "Hi")]));
    }

    [Fact]
    public void ChatMl_render_is_qwen_chatml()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.ChatMl, fx.Ours);
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\n<image>\nWhat is in the picture?<|im_end|>\n" +
            "<|im_start|>assistant\nA black cat on a sofa.<|im_end|>\n" +
            "<|im_start|>user\nWhat colour is the sofa?<|im_end|>\n" +
            "<|im_start|>assistant\nRed.<|im_end|>\n",
            template.Render(TwoRounds));
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            template.RenderPrompt([new("user", "Hi")]));
    }

    [Fact]
    public void Bad_turn_orders_are_rejected_with_reason_codes()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        Assert.Equal("bad_turn_order", Assert.Throws<RowRejectedException>(() => template.Tokenize([new("assistant", "x"), new("user", "y")])).ReasonCode);
        Assert.Equal("bad_turn_order", Assert.Throws<RowRejectedException>(() => template.Tokenize([new("user", "x"), new("user", "y")])).ReasonCode);
        Assert.Equal("bad_turn_order", Assert.Throws<RowRejectedException>(() => template.Tokenize([new("user", "x")])).ReasonCode);
        Assert.Equal("empty_conversation", Assert.Throws<RowRejectedException>(() => template.Tokenize([])).ReasonCode);
        Assert.Equal("empty_assistant_turn", Assert.Throws<RowRejectedException>(() => template.Tokenize([new("user", "x"), new("assistant", " ")])).ReasonCode);
        Assert.Throws<ArgumentException>(() => template.TokenizePrompt([new("user", "x"), new("assistant", "y")]));
    }

    [Theory]
    [InlineData("human", "user")]
    [InlineData("gpt", "assistant")]
    [InlineData("GPT", "assistant")]
    [InlineData("system", "system")]
    public void Llava_roles_map_to_chat_roles(string from, string role) => Assert.Equal(role, ChatTurn.FromLlavaRole(from));

    [Fact]
    public void Unknown_llava_role_is_a_row_rejection() =>
        Assert.Equal("unknown_role", Assert.Throws<RowRejectedException>(() => ChatTurn.FromLlavaRole("bot")).ReasonCode);

    [Fact]
    public void Template_kinds_have_cli_names()
    {
        Assert.Equal(ChatTemplateKind.Qwen, ChatTemplateKinds.Parse("qwen"));
        Assert.Equal(ChatTemplateKind.ChatMl, ChatTemplateKinds.Parse("ChatML"));
        Assert.Equal("chatml", ChatTemplateKind.ChatMl.CliName());
        Assert.Throws<LlavaModException>(() => ChatTemplateKinds.Parse("vicuna"));
    }
}
