using System.Text;
using LlavaMod.Data.Text;

namespace LlavaMod.Data.Tests.Text;

/// <summary>Our tokenizer against Hugging Face's Rust tokenizer on the same tokenizer.json.</summary>
public sealed class QwenTokenizerReferenceTests(TokenizerFixture fx) : IClassFixture<TokenizerFixture>
{
    [Fact]
    public void Corpus_ids_equal_hugging_face()
    {
        var lines = TokenizerCorpus.Lines();
        Assert.True(lines.Count >= 400);
        var mismatches = new List<string>();
        foreach (string line in lines)
        {
            int[] expected = fx.ReferenceIds(line);
            int[] actual = fx.Ours.Encode(line).ToArray();
            if (!expected.SequenceEqual(actual))
                mismatches.Add($"{Escape(line)}\n  hf:   [{string.Join(",", expected)}]\n  ours: [{string.Join(",", actual)}]");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count}/{lines.Count} lines differ:\n" + string.Join("\n", mismatches.Take(5)));
    }

    [Fact]
    public void Random_code_point_lines_equal_hugging_face()
    {
        var mismatches = new List<string>();
        foreach (string line in TokenizerCorpus.FuzzLines())
        {
            int[] expected = fx.ReferenceIds(line);
            int[] actual = fx.Ours.Encode(line).ToArray();
            if (!expected.SequenceEqual(actual))
                mismatches.Add($"{Escape(line)}\n  hf:   [{string.Join(",", expected)}]\n  ours: [{string.Join(",", actual)}]");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} lines differ:\n" + string.Join("\n", mismatches.Take(5)));
    }

    [Fact]
    public void Whole_corpus_as_one_text_equals_hugging_face()
    {
        string text = string.Join("\n", TokenizerCorpus.Lines(generated: 200, seed: 7));
        Assert.Equal(fx.ReferenceIds(text), fx.Ours.Encode(text));
    }

    [Fact]
    public void Parallel_encoding_gives_the_sequential_ids()
    {
        var lines = TokenizerCorpus.Lines(generated: 300, seed: 5);
        var sequential = lines.Select(l => fx.Ours.Encode(l).ToArray()).ToArray();
        var parallel = new int[lines.Count][];
        Parallel.For(0, lines.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = fx.Ours.Encode(lines[i]).ToArray());
        for (int i = 0; i < lines.Count; i++) Assert.Equal(sequential[i], parallel[i]);
    }

    [Fact]
    public void Decode_equals_hugging_face_and_round_trips_nfc_text()
    {
        foreach (string line in TokenizerCorpus.Lines(generated: 100, seed: 11))
        {
            var ids = fx.Ours.Encode(line);
            string decoded = fx.Ours.Decode(ids);
            Assert.Equal(line.Contains("|>\u0338") ? line : line.Normalize(NormalizationForm.FormC), decoded);   // added tokens are cut out before NFC
            if (!line.Contains("<|") && !line.Contains("<t"))   // the reference skips special tokens when decoding
                Assert.Equal(fx.Reference.Decode(ids.Select(i => (uint)i).ToArray()), decoded);
        }
    }

    [Fact]
    public void Added_tokens_are_single_ids_with_hugging_face_numbers()
    {
        Assert.Equal(151643, fx.Ours.EndOfTextId);
        Assert.Equal(151643, fx.Ours.TokenToId("<|endoftext|>"));
        Assert.Equal(151644, fx.Ours.TokenToId("<|im_start|>"));
        Assert.Equal(151645, fx.Ours.TokenToId("<|im_end|>"));
        Assert.Equal([151644, 151645, 151643], fx.Ours.Encode("<|im_start|><|im_end|><|endoftext|>"));
        Assert.Equal(fx.ReferenceIds("<|im_start|><|im_end|><|endoftext|>"), fx.Ours.Encode("<|im_start|><|im_end|><|endoftext|>"));
    }

    [Fact]
    public void Vocabulary_size_counts_added_tokens_and_token_lookup_uses_byte_level_form()
    {
        Assert.Equal(151669, fx.Ours.VocabularySize);   // 151,643 BPE tokens + 26 added tokens (Qwen3 file)
        int? the = fx.Ours.TokenToId("\u0120the");       // "Ġthe" = " the"
        Assert.NotNull(the);
        Assert.Equal([the!.Value], fx.Ours.Encode(" the"));
        Assert.Null(fx.Ours.TokenToId("definitely not a token"));
    }

    [Fact]
    public void Text_is_nfc_normalised_before_encoding()
    {
        Assert.Equal(fx.Ours.Encode("Caf\u00e9 \u00C5"), fx.Ours.Encode("Cafe\u0301 A\u030A"));
        Assert.Equal(fx.ReferenceIds("Cafe\u0301 \u212B"), fx.Ours.Encode("Cafe\u0301 \u212B"));
    }

    [Fact]
    public void Fingerprint_is_sha256_hex_of_the_files_and_stable()
    {
        Assert.Matches("^[0-9a-f]{64}$", fx.Ours.Fingerprint);
        Assert.Equal(fx.Ours.Fingerprint, QwenTokenizer.Load(Path.GetDirectoryName(QwenTokenizer.BundledPath)!).Fingerprint);
        Assert.Equal(LlavaMod.Core.Hashing.Sha256OfFiles([QwenTokenizer.BundledPath]), fx.Ours.Fingerprint);
    }

    static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s) sb.Append(c < 32 || c > 126 ? $"\\u{(int)c:x4}" : c.ToString());
        return sb.ToString();
    }
}
