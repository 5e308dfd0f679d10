using LlavaMod.Preferences;

namespace LlavaMod.Preferences.Tests;

/// <summary>A temp folder deleted after the test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("llavamod-prefs-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The expected state of one generated pair, kept beside the store as the reference.</summary>
public sealed record ExpectedPair(
    int Ordinal, string Run, string PromptText, string? ImagePath, string ChosenText, string RejectedText,
    double ChosenScore, double RejectedScore, int ChosenTokens, int RejectedTokens, double Severity,
    double RefChosenLogp, double RefRejectedLogp, PairSplit Split, PairSource Source, int[] ChosenIds, int[] RejectedIds, int[] PromptIds)
{
    public double Gap => ChosenScore - RejectedScore;
    public int Length => Math.Max(ChosenTokens, RejectedTokens);
    public long Id => Ordinal + 1;
}

/// <summary>Deterministic random mined batches and the pairs they should yield.</summary>
public static class TestData
{
    /// <summary>Rows of a DuckDB query (an independent Parquet reader: <c>read_parquet</c>), as the receiving side sees our files.</summary>
    public static List<object?[]> Duck(string sql)
    {
        using var connection = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public static readonly string[] Words = ["dog", "cat", "red", "blue", "table", "window", "tree", "car", "two", "small", "large", "person"];

    public static RunInfo Run(string name = "run-a") =>
        new(name, "qwen-vl", "7b@abc", "sampler", "t0.7", "claims", "v1", """{"samples":10}""");

    static string Sentence(Random rng, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[rng.Next(Words.Length)]));

    /// <summary><paramref name="prompts"/> prompts with 4 responses each and 2 pairs each.</summary>
    public static (List<MinedPrompt> Batch, List<ExpectedPair> Expected) Mined(int prompts, int seed, string run = "run-a", int firstOrdinal = 0)
    {
        var rng = new Random(seed);
        var batch = new List<MinedPrompt>();
        var expected = new List<ExpectedPair>();
        for (int i = 0; i < prompts; i++)
        {
            string promptText = $"q{seed}-{i} " + Sentence(rng, 3);
            string? image = rng.Next(4) == 0 ? null : $"images/{seed}/{i}.jpg";
            var promptIds = Enumerable.Range(0, 5).Select(_ => rng.Next(0, 151_000)).ToArray();
            var responses = new List<ResponseRecord>();
            for (int k = 0; k < 4; k++)
            {
                int len = rng.Next(1, 40);
                var ids = Enumerable.Range(0, len).Select(_ => rng.Next(-5, 151_000)).ToArray();
                responses.Add(new ResponseRecord($"r{seed}-{i}-{k} " + Sentence(rng, 1 + rng.Next(6)), ids, -rng.Next(0, 6), null, -rng.NextDouble() * 50));
            }
            var pairs = new List<PairRecord>();
            foreach (var (c, r) in new[] { (0, 1), (2, 3) })
            {
                double severity = Math.Round(rng.NextDouble() * 3, 3);
                double refC = -rng.NextDouble() * 100, refR = -rng.NextDouble() * 100;
                var split = rng.Next(5) == 0 ? PairSplit.Val : PairSplit.Train;
                var source = rng.Next(3) == 0 ? PairSource.Imported : PairSource.Mined;
                pairs.Add(new PairRecord(c, r, severity, refC, responses[c].TokenIds!.Length + 1, refR, responses[r].TokenIds!.Length + 1, split, source));
                expected.Add(new ExpectedPair(firstOrdinal + expected.Count, run, promptText, image, responses[c].Text, responses[r].Text,
                    responses[c].Score!.Value, responses[r].Score!.Value, responses[c].TokenIds!.Length, responses[r].TokenIds!.Length,
                    severity, refC, refR, split, source, responses[c].TokenIds!, responses[r].TokenIds!, promptIds));
            }
            batch.Add(new MinedPrompt(new PromptRecord($"key-{seed}-{i}", promptText, promptIds, $"shard-0:{i}", image), responses, pairs));
        }
        return (batch, expected);
    }

    public static (long Prompts, long Responses, long Pairs) Counts(PairStore store)
    {
        var c = store.Verify().Counts;
        return (c["prompts"], c["responses"], c["pairs"]);
    }
}
