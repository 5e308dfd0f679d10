using System.Text;

namespace LlavaMod.Data.Tests.Text;

/// <summary>
/// A varied, deterministic text corpus for comparing tokenizers: hand-picked hard cases plus
/// lines generated from a seeded random mix of scripts, emoji, code, numbers, odd whitespace,
/// added tokens and combining characters.
/// </summary>
internal static class TokenizerCorpus
{
    public static readonly string[] HardCases =
    [
        "",
        " ",
        "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "I'm sure they'll say it's fine, we've done it, you'd agree, I'd've thought.",
        "IT'S LOUD: DON'T, WE'LL, THEY'RE, I'M, YOU'VE, HE'D",
        "Don\u2019t use curly apostrophes \u2018here\u2019 \u201cor here\u201d.",
        "中文分词测试：今天天气很好，我们去公园散步吧。",
        "日本語のテキスト、カタカナとひらがなと漢字。",
        "한국어 문장입니다. 조합형 자모: \u1100\u1161\u11A8 와 완성형 각",
        "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇩🇪🇯🇵 ❤️ 🏳️‍🌈 ✨",
        "def f(x):\n\treturn x ** 2  # square\n",
        "for (int i = 0; i < n; ++i) { sum += a[i]; }",
        "{\"id\": 42, \"image\": \"coco/train2017/000000123.jpg\", \"ok\": true}",
        "line one\r\nline two\r\n\r\nline four\n\n\n",
        "tabs\t\tand\tspaces    mixed \t \n trailing   ",
        "   leading spaces and trailing   ",
        "\n\nstarts with newlines",
        "numbers 1234567890 3.14159 -42 1,000,000 1e-9 0x1F 2024-05-01",
        "<|endoftext|>",
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n",
        "text<|endoftext|>more text<|im_end|>",
        "<|endoftext|>\u0338 combining after a special token",
        "a<|im_start|>b<|fim_prefix|>c<tool_call>d</tool_call>e<think>f</think>",
        "<|im_start <|im_start| <im_start|> not quite special",
        "Caf\u00e9 vs Cafe\u0301, \u212B vs \u00C5 vs A\u030A, \u2126 ohm, \uFB01 ligature",
        "e\u0301\u0302\u0323 stacked marks, o\u0308\u0304, \u0915\u094D\u0937 devanagari",
        "Привет, мир! Ελληνικά κείμενα. مرحبا بالعالم. שלום עולם.",
        "non\u00a0breaking\u2009thin\u3000ideographic\u200bzero-width",
        "!!!??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]]",
        "https://example.org/path?query=1&x=y#frag user@example.com",
        "<image>\nWhat is shown in this picture?",
        "MiXeD CaSe WoRdS aNd ALLCAPS and lowercase",
        "\u0001\u0007\u001b[0m control chars",
        "surrogates 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 math letters",
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE",
        "astral letters: 𠮷野家で食べた, a𝔘b, 𐍈 gothic, 😀abc, x😀y",
        "astral digits: 𝟙𝟚𝟛 12𝟙3 𝟙abc a𝟙",
        " 😀\n🙂\r\n 👍🏽x 𠀀𪛟",
        "he'ſ she'K", 
    ];

    static readonly string[] Fragments =
    [
        "the", "image", "shows", "a", "cat", "sitting", "on", "wooden", "table", "near", "window",
        "What", "is", "color", "of", "car?", "Answer", "briefly.", "There are", "two", "people",
        "猫", "在", "桌子上", "图片", "显示", "什么", "東京", "ラーメン", "사진", "고양이",
        "😀", "🚗", "👍🏻", "🇫🇷", "🧑‍💻", "⭐", "☕",
        "x = y + 1;", "if (a && b)", "return None", "print(\"hi\")", "=>", "::", "->", "!=", "<=",
        "42", "3.5", "100%", "$19.99", "1/2", "2nd", "10km", "1999", "007",
        "don't", "it's", "we'll", "THEY'RE", "I'm",
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<image>",
        "e\u0301", "n\u0303", "A\u030A", "\u212B", "\u1100\u1161", "\uFB01", "\u00e9",
        "Ünïcödé", "naïve", "façade", "straße", "İstanbul", "ß",
        "𠮷", "𝟘", "𝒜", "😀", "—", "…", "«", "»", "¿", "¡", "§", "©",
    ];

    static readonly string[] Gaps = [" ", " ", " ", " ", "  ", "\t", "\n", "\r\n", "", "\u00a0", " \n", "\n\n", "   ", "\u3000"];

    /// <summary>Hard cases followed by <paramref name="generated"/> random lines (seeded, same every run).</summary>
    public static IReadOnlyList<string> Lines(int generated = 400, int seed = 20240826)
    {
        var lines = new List<string>(HardCases);
        var random = new Random(seed);
        for (int i = 0; i < generated; i++)
        {
            var sb = new StringBuilder();
            int words = 1 + random.Next(24);
            for (int w = 0; w < words; w++)
            {
                sb.Append(Fragments[random.Next(Fragments.Length)]);
                sb.Append(Gaps[random.Next(Gaps.Length)]);
            }
            if (random.Next(5) == 0) sb.Append(random.Next(1_000_000));
            lines.Add(sb.ToString());
        }
        return lines;
    }

    // Code point ranges for the fuzz lines: scripts, marks, digits of every kind, odd whitespace.
    static readonly (int From, int To)[] Blocks =
    [
        (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x09, 0x0D), (0xA0, 0xFF), (0x0300, 0x036F), (0x0370, 0x03FF),
        (0x0400, 0x04FF), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x1100, 0x11FF),
        (0x2000, 0x206F), (0x2150, 0x218F), (0x2460, 0x24FF), (0x3000, 0x303F), (0x3040, 0x30FF), (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x20000, 0x2A6DF), (0x10330, 0x1034F),
    ];

    static readonly string[] Inserts = ["\u0085", "\u2028", "\u2029", "\u000b", "\u000c", "\r\n", "<|endoftext|>", "<|im_end|>", "<|", "|>", "'s", "'LL", "\u200d", "\ufe0f"];

    /// <summary>Random code point strings from <see cref="Blocks"/> (no NUL, no lone surrogates).</summary>
    public static IReadOnlyList<string> FuzzLines(int count = 300, int seed = 4242)
    {
        var random = new Random(seed);
        var lines = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int length = 1 + random.Next(40);
            var (from, to) = Blocks[random.Next(Blocks.Length)];
            for (int k = 0; k < length; k++)
            {
                if (random.Next(6) == 0) (from, to) = Blocks[random.Next(Blocks.Length)];
                if (random.Next(15) == 0) { sb.Append(Inserts[random.Next(Inserts.Length)]); continue; }
                int cp = random.Next(from, to + 1);
                if (cp is >= 0xD800 and <= 0xDFFF) continue;
                sb.Append(char.ConvertFromUtf32(cp));
            }
            lines.Add(sb.ToString());
        }
        return lines;
    }
}
