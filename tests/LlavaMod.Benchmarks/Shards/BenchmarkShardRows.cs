using System.Security.Cryptography;
using System.Text.Json;
using LlavaMod.Data.Shards;
using LlavaMod.Benchmarks.Text;
using LlavaMod.Data.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Benchmarks.Shards;

/// <summary>
/// Rows as the ETL stores them for LLaVA-style instruction data: a distinct 336×336 JPEG (quality
/// 95, so nearly incompressible, as real photos), a LLaVA-style conversation as JSON, its Qwen ids
/// (from our tokenizer) and label mask; one row in eight has no image. Same rows every run.
/// </summary>
public static class BenchmarkShardRows
{
    public static ShardRow[] Create(int count, int seed = 17)
    {
        var tokenizer = QwenTokenizer.Load(QwenTokenizer.BundledPath);
        var random = new Random(seed);
        var rows = new ShardRow[count];
        for (int i = 0; i < count; i++)
        {
            string question = ConversationLines.Sentence(random, 6, 14) + "?";
            string answer = ConversationLines.Sentence(random, 20, 80) + ".";
            var turns = new[] { new { role = "user", text = "<image>\n" + question }, new { role = "assistant", text = answer } };
            int[] prompt = tokenizer.Encode($"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n").ToArray();
            int[] reply = tokenizer.Encode(answer + "<|im_end|>").ToArray();
            bool hasImage = i % 8 != 7;
            byte[]? jpeg = hasImage ? Jpeg(random) : null;
            rows[i] = new ShardRow
            {
                Key = $"00000{i:D7}", Source = "llava_instruct_150k.json", SourceRow = i, Id = $"{random.Next(1_000_000):D12}",
                Image = jpeg is null ? null : new ImageCell { Bytes = jpeg, Path = $"coco/train2017/{random.Next(1_000_000):D12}.jpg" },
                ImageSha256 = jpeg is null ? null : Convert.ToHexStringLower(SHA256.HashData(jpeg)),
                OriginalWidth = hasImage ? 640 : null, OriginalHeight = hasImage ? 480 : null,
                Width = hasImage ? 336 : null, Height = hasImage ? 336 : null,
                OriginalFormat = hasImage ? "jpeg" : null, ImageFormat = hasImage ? "jpeg" : null,
                Conversation = JsonSerializer.Serialize(turns),
                InputIds = [.. prompt, .. reply], LabelMask = [.. prompt.Select(_ => (byte)0), .. reply.Select(_ => (byte)1)],
                NumTokens = prompt.Length + reply.Length,
            };
        }
        return rows;
    }

    static byte[] Jpeg(Random random)
    {
        using var image = new Image<Rgb24>(336, 336);
        int phase = random.Next(256);
        uint state = (uint)random.Next();
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    state = state * 1664525 + 1013904223;
                    int noise = (int)(state >> 27) - 16;
                    row[x] = new Rgb24((byte)(x + phase + noise), (byte)(y + noise), (byte)(x + y + noise));
                }
            }
        });
        using var stream = new MemoryStream();
        image.Save(stream, new JpegEncoder { Quality = 95, ColorType = JpegColorType.YCbCrRatio420 });
        return stream.ToArray();
    }
}
