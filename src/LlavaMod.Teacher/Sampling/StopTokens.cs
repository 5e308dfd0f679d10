using LlavaMod.Data.Text;

namespace LlavaMod.Teacher.Sampling;

/// <summary>The ids that end an answer: the closing tokens of both chat templates (qwen: &lt;|endoftext|&gt;, chatml: &lt;|im_end|&gt;).</summary>
public static class StopTokens
{
    public static long[] Of(QwenTokenizer tokenizer) =>
        new[] { "<|endoftext|>", "<|im_end|>" }.Select(tokenizer.TokenToId).Where(id => id is not null).Select(id => (long)id!.Value).ToArray();
}
