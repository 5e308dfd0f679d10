using System.Text;
using LlavaMod.Core;
using LlavaMod.Preferences;

namespace LlavaMod.Benchmarks.Pairs;

/// <summary>One mined prompt as a JSON line, the input both the C# harness and the Python peer
/// (peers/sqlite_pairs.py) read, so both insert the very same rows.</summary>
public sealed record MinedLine(
    string PromptKey, string Text, int[] TokenIds, string ImageKey, string ImagePath,
    List<ResponseLine> Responses, List<PairLine> Pairs);

public sealed record ResponseLine(string Text, int[] TokenIds, double Score, string ClaimsJson, double SamplerLogp);

public sealed record PairLine(int Chosen, int Rejected, double Severity, double RefChosenLogp, int RefChosenTokens,
    double RefRejectedLogp, int RefRejectedTokens, string Split);

/// <summary>Generates and reads the benchmark's mined prompts: per prompt 2 responses of 80–120
/// tokens (~100, as the teacher pass samples them) and one pair, fixed by the seed.</summary>
public static class MinedPairFile
{
    static readonly string[] Words =
    [
        "the", "a", "red", "blue", "green", "cube", "sphere", "cylinder", "is", "left", "of", "right", "above", "below",
        "small", "large", "metal", "rubber", "there", "are", "two", "three", "next", "to", "behind", "in", "front", "image",
        "shows", "object", "yellow", "purple", "brown", "gray", "shiny", "matte", "and", "with", "on", "table",
    ];

    public static void Generate(string path, int prompts, int seed = 7)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        for (int p = 0; p < prompts; p++)
        {
            var responses = new List<ResponseLine>();
            for (int r = 0; r < 2; r++)
            {
                int tokens = random.Next(80, 121);
                var ids = Enumerable.Range(0, tokens).Select(_ => random.Next(151_936)).ToArray();
                string text = string.Join(' ', Enumerable.Range(0, tokens * 3 / 4).Select(_ => Words[random.Next(Words.Length)]));
                int falseClaims = r == 0 ? 0 : random.Next(1, 4);
                string claims = $$"""[{"claim": "claim {{p}}.{{r}}", "supported": {{(falseClaims == 0 ? "true" : "false")}}, "hallucinated_words": []}]""";
                responses.Add(new ResponseLine(text, ids, -falseClaims, claims, -random.NextDouble() * 200));
            }
            var pair = new PairLine(0, 1, 1.0 + random.Next(3), -random.NextDouble() * 150, responses[0].TokenIds.Length,
                -random.NextDouble() * 150, responses[1].TokenIds.Length, random.Next(20) == 0 ? "val" : "train");
            var line = new MinedLine($"prompt-{p:D8}", $"<image>\nQuestion {p}: what is {Words[random.Next(Words.Length)]} the {Words[random.Next(Words.Length)]}?",
                Enumerable.Range(0, random.Next(20, 40)).Select(_ => random.Next(151_936)).ToArray(), $"row-{p:D8}", $"images/{p % 1000:D3}/{p:D8}.jpg",
                responses, [pair]);
            writer.WriteLine(System.Text.Json.JsonSerializer.Serialize(line, Json.Compact));
        }
    }

    /// <summary>The file's prompts in batches of <paramref name="batchSize"/>, as PairStore records.</summary>
    public static IEnumerable<List<MinedPrompt>> ReadBatches(string path, int batchSize)
    {
        var batch = new List<MinedPrompt>(batchSize);
        long row = 0;
        foreach (string text in File.ReadLines(path))
        {
            var line = Json.Deserialize<MinedLine>(text, $"{path} line {++row}");
            batch.Add(new MinedPrompt(
                new PromptRecord(line.PromptKey, line.Text, line.TokenIds, line.ImageKey, line.ImagePath),
                line.Responses.Select(r => new ResponseRecord(r.Text, r.TokenIds, r.Score, r.ClaimsJson, r.SamplerLogp)).ToList(),
                line.Pairs.Select(p => new PairRecord(p.Chosen, p.Rejected, p.Severity, p.RefChosenLogp, p.RefChosenTokens,
                    p.RefRejectedLogp, p.RefRejectedTokens, PairStore.ParseSplit(p.Split))).ToList()));
            if (batch.Count == batchSize) { yield return batch; batch = new List<MinedPrompt>(batchSize); }
        }
        if (batch.Count > 0) yield return batch;
    }
}
