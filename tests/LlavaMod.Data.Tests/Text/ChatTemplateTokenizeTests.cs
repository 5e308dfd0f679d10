using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Text;

/// <summary>
/// Ids and label masks of tokenized conversations, against Hugging Face's tokenizer on the
/// rendered text (split at "&lt;image&gt;" as LLaVA's tokenizer_image_token does) and against
/// LLaVA-MoD's preprocess_phi label rule.
/// </summary>
public sealed class ChatTemplateTokenizeTests(TokenizerFixture fx) : IClassFixture<TokenizerFixture>
{
    /// <summary>Conversations built from the corpus lines: 1–3 rounds each.</summary>
    static IEnumerable<ChatTurn[]> Conversations(Func<string, bool> usableAnswer)
    {
        var lines = TokenizerCorpus.Lines(generated: 300, seed: 99).Where(l => l.Trim().Length > 0).ToList();
        var answers = lines.Where(usableAnswer).ToList();
        for (int i = 0; i + 2 < answers.Count && i + 2 < lines.Count; i += 3)
        {
            int rounds = 1 + i % 3;
            var turns = new List<ChatTurn>();
            for (int r = 0; r < rounds; r++)
            {
                turns.Add(new ChatTurn("user", (r == 0 && i % 2 == 0 ? "<image>\n" : "") + lines[(i + r) % lines.Count]));
                turns.Add(new ChatTurn("assistant", answers[(i + r + 1) % answers.Count]));
            }
            yield return turns.ToArray();
        }
    }

    static bool StartsWithLineBreak(string s) => s.TrimStart(' ', '\t', '\u00a0', '\u3000').StartsWith('\n') || s.TrimStart(' ', '\t').StartsWith('\r');

    [Theory]
    [InlineData(ChatTemplateKind.Qwen)]
    [InlineData(ChatTemplateKind.ChatMl)]
    public void Segment_wise_ids_equal_tokenizing_the_rendered_text(ChatTemplateKind kind)
    {
        var template = ChatTemplate.Create(kind, fx.Ours);
        int checkedCount = 0;
        // chatml: an answer starting with a line break is the documented exception (next test)
        foreach (var turns in Conversations(a => kind == ChatTemplateKind.Qwen || !StartsWithLineBreak(a)))
        {
            var tokenized = template.Tokenize(turns);
            Assert.Equal(fx.ReferenceIdsWithImages(template.Render(turns)), tokenized.InputIds);
            Assert.Equal(tokenized.InputIds.Length, tokenized.LabelMask.Length);
            checkedCount++;
        }
        Assert.True(checkedCount >= 50, $"only {checkedCount} conversations");
    }

    [Fact]
    public void ChatMl_answer_starting_with_newline_keeps_the_prompt_boundary()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.ChatMl, fx.Ours);
        ChatTurn[] turns = [new("user", "Hi"), new("assistant", "\n\nHello")];
        var tokenized = template.Tokenize(turns);
        int[] prompt = template.TokenizePrompt([turns[0]]);
        // whole-text tokenization would merge "\n" + "\n\n" into one token; we keep the prompt's own "\n"
        Assert.NotEqual(fx.ReferenceIds(template.Render(turns)), tokenized.InputIds);
        int[] expected = [.. fx.ReferenceIds(template.RenderPrompt([turns[0]])), .. fx.ReferenceIds("\n\nHello<|im_end|>"), .. fx.ReferenceIds("\n")];
        Assert.Equal(expected, tokenized.InputIds);
        Assert.Equal(prompt, tokenized.InputIds[..prompt.Length]);
    }

    [Fact]
    public void Qwen_label_mask_equals_llava_mod_preprocess_phi()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        int n = 0;
        foreach (var turns in Conversations(a => !a.Contains("<|") && !a.Contains("<image>")))
        {
            if (turns.Any(t => t.Text.Contains("<|") || t.Text.Contains(" ASSISTANT: "))) continue;
            string conversation = template.Render(turns);
            Assert.Equal(PreprocessPhiMask(conversation), template.Tokenize(turns).LabelMask);
            n++;
        }
        Assert.True(n >= 30, $"only {n} conversations");
    }

    /// <summary>LLaVA-MoD data_utils.preprocess_phi's target masking, with HF ids (1 = label kept).</summary>
    byte[] PreprocessPhiMask(string conversation)
    {
        const string sep2 = "<|endoftext|>", sep = " ASSISTANT: ";
        int total = fx.ReferenceIdsWithImages(conversation).Length;
        var mask = Enumerable.Repeat((byte)1, total).ToArray();
        int cur = 0;
        foreach (string rou in conversation.Split(sep2))
        {
            if (rou == "") break;
            string[] parts = rou.Split(sep);
            if (parts.Length != 2) break;
            int roundLen = fx.ReferenceIdsWithImages(rou).Length + 1;               // + eos
            int instructionLen = fx.ReferenceIdsWithImages(parts[0] + sep).Length - 1;
            for (int i = cur; i < Math.Min(total, cur + instructionLen); i++) mask[i] = 0;
            cur += roundLen;
        }
        Assert.Equal(total, cur);   // preprocess_phi would otherwise mask everything ("tokenization mismatch")
        return mask;
    }

    [Theory]
    [InlineData(ChatTemplateKind.Qwen, " {0}<|endoftext|>")]
    [InlineData(ChatTemplateKind.ChatMl, "{0}<|im_end|>")]
    public void Labelled_spans_decode_to_the_answers_plus_end_token(ChatTemplateKind kind, string format)
    {
        var template = ChatTemplate.Create(kind, fx.Ours);
        ChatTurn[] turns =
        [
            new("user", "<image>\nDescribe it."), new("assistant", "A dog, 3 years old 🐶."),
            new("user", "中文?"), new("assistant", "是的，这是一只狗。"),
            new("user", "code?"), new("assistant", "x = 1\n\ty += 2"),
        ];
        var t = template.Tokenize(turns);
        var spans = LabelledSpans(t.LabelMask);
        Assert.Equal(3, spans.Count);
        for (int k = 0; k < 3; k++)
        {
            var (from, to) = spans[k];
            Assert.Equal(string.Format(format, turns[2 * k + 1].Text), fx.Ours.Decode(t.InputIds[from..to]));
            string before = fx.Ours.Decode(t.InputIds[..from]);
            Assert.EndsWith(kind == ChatTemplateKind.Qwen ? "ASSISTANT:" : "<|im_start|>assistant\n", before);
        }
        Assert.Equal(kind == ChatTemplateKind.Qwen ? fx.Ours.EndOfTextId : fx.Ours.TokenToId("<|im_end|>"), t.InputIds[spans[0].To - 1]);
    }

    static List<(int From, int To)> LabelledSpans(byte[] mask)
    {
        var spans = new List<(int, int)>();
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            int start = i;
            while (i < mask.Length && mask[i] == 1) i++;
            spans.Add((start, i));
        }
        return spans;
    }

    [Theory]
    [InlineData(ChatTemplateKind.Qwen)]
    [InlineData(ChatTemplateKind.ChatMl)]
    public void Prompt_ids_are_a_prefix_of_the_conversation_ids(ChatTemplateKind kind)
    {
        var template = ChatTemplate.Create(kind, fx.Ours);
        foreach (var turns in Conversations(_ => true).Take(40))
        {
            var ids = template.Tokenize(turns).InputIds;
            for (int end = 1; end <= turns.Length; end += 2)
            {
                int[] prompt = template.TokenizePrompt(turns[..end]);
                Assert.Equal(prompt, ids[..prompt.Length]);
            }
        }
    }

    [Fact]
    public void Image_tag_becomes_exactly_one_unlabelled_placeholder()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.Qwen, fx.Ours);
        var t = template.Tokenize([new("user", "<image>\nWhat is this?"), new("assistant", "A cat.")]);
        Assert.Equal(1, t.ImagePlaceholderCount);
        int at = Array.IndexOf(t.InputIds, ChatTemplate.ImagePlaceholderId);
        Assert.Equal(1, t.InputIds.Count(id => id == ChatTemplate.ImagePlaceholderId));
        Assert.Equal(0, t.LabelMask[at]);
        Assert.Equal(fx.ReferenceIds(ChatTemplate.QwenDefaultSystemPrompt + " USER: "), t.InputIds[..at]);
        int[] after = fx.ReferenceIds("\nWhat is this? ASSISTANT:");
        Assert.Equal(after, t.InputIds[(at + 1)..(at + 1 + after.Length)]);
        Assert.DoesNotContain("image", fx.Ours.Decode(t.InputIds.Where(id => id != ChatTemplate.ImagePlaceholderId)));
        Assert.Contains("<image>", fx.Ours.Decode(t.InputIds));
    }

    [Fact]
    public void Two_image_tags_are_allowed_and_counted()
    {
        var template = ChatTemplate.Create(ChatTemplateKind.ChatMl, fx.Ours);
        var t = template.Tokenize([new("user", "<image><image>\nCompare."), new("assistant", "Same.")]);
        Assert.Equal(2, t.ImagePlaceholderCount);
        Assert.Equal(2, t.InputIds.Count(id => id == ChatTemplate.ImagePlaceholderId));
        Assert.Equal(2, template.TokenizePrompt([new("user", "<image> and <image>")]).Count(id => id == ChatTemplate.ImagePlaceholderId));
    }
}
