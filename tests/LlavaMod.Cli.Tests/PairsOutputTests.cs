using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlavaMod.Cli.Tests.EndToEnd;

namespace LlavaMod.Cli.Tests;

/// <summary>
/// What <c>pairs list</c>, <c>pairs show</c> and <c>pairs stats</c> print for pairs imported from a file written here:
/// which pairs a filter, sort and limit select, the texts and numbers of one pair, and the severity statistics computed
/// in the test. Only content is asserted (one-word texts, so a narrow column cannot split them), not the layout.
/// </summary>
public sealed class PairsOutputTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-pairs-out-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    sealed record Pair(string Prompt, string Chosen, string Rejected, double Severity, double? RefChosen, double? RefRejected);

    static readonly Pair[] Pairs =
    [
        new("Vehicle?", "Bus.", "Ship.", 2.5, -3.5, -9.25),
        new("Count dogs", "Two.", "Five.", 0.5, null, null),
        new("Animal?", "Cat.", "Cow.", 4.0, -1.125, -7.0),
        new("Colour?", "Red.", "Blue.", 1.75, -2.0, -2.5),
    ];

    static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    string Import()
    {
        string input = Path.Combine(_dir, "pairs.jsonl"), db = Path.Combine(_dir, "pairs.db");
        File.WriteAllLines(input, Pairs.Select((p, i) =>
        {
            var row = new Dictionary<string, object?>
            {
                ["id"] = $"p{i}", ["image"] = i == 0 ? "bus.jpg" : null,
                ["chosen"] = new[] { new { from = "human", value = p.Prompt }, new { from = "gpt", value = p.Chosen } },
                ["rejected"] = new[] { new { from = "human", value = p.Prompt }, new { from = "gpt", value = p.Rejected } },
                ["severity"] = p.Severity,
            };
            if (p.RefChosen is { } c) row["ref_chosen_logps"] = c;
            if (p.RefRejected is { } r) row["ref_rejected_logps"] = r;
            return JsonSerializer.Serialize(row.Where(kv => kv.Value is not null).ToDictionary());
        }));
        LlavamodProcess.Succeeds(_dir, "pairs", "import", input, "--db", db);
        return db;
    }

    [Fact]
    public void List_shows_exactly_the_pairs_a_text_filter_selects()
    {
        string db = Import();
        string output = LlavamodProcess.Succeeds(_dir, "pairs", "list", "--db", db, "--text", "dogs");
        Assert.Contains("Two.", output);
        foreach (var other in Pairs.Where(p => !p.Prompt.Contains("dogs"))) Assert.DoesNotContain(other.Chosen, output);
    }

    [Fact]
    public void List_sorted_by_severity_descending_with_a_limit_shows_the_most_severe_pairs_in_order()
    {
        string db = Import();
        string output = LlavamodProcess.Succeeds(_dir, "pairs", "list", "--db", db, "--sort", "severity", "--desc", "--limit", "2");
        var expected = Pairs.OrderByDescending(p => p.Severity).ToArray();
        int first = output.IndexOf(expected[0].Chosen, StringComparison.Ordinal), second = output.IndexOf(expected[1].Chosen, StringComparison.Ordinal);
        Assert.True(first >= 0 && second > first, $"expected {expected[0].Chosen} then {expected[1].Chosen}:\n{output}");
        Assert.Contains(F(expected[0].Severity), output);
        foreach (var rest in expected[2..]) Assert.DoesNotContain(rest.Chosen, output);
    }

    [Fact]
    public void Show_prints_the_prompt_both_responses_the_severity_the_image_and_both_reference_log_probs()
    {
        string db = Import();
        var pair = Pairs[0];
        string output = LlavamodProcess.Succeeds(_dir, "pairs", "show", "1", "--db", db);
        foreach (var text in new[] { pair.Prompt, pair.Chosen, pair.Rejected, "bus.jpg", F(pair.Severity) }) Assert.Contains(text, output);
        int chosenAt = output.IndexOf(pair.Chosen, StringComparison.Ordinal), rejectedAt = output.IndexOf(pair.Rejected, StringComparison.Ordinal);
        Assert.Matches(new Regex($@"logp {Regex.Escape(F(pair.RefChosen!.Value))}\b"), output[chosenAt..rejectedAt]);
        Assert.Matches(new Regex($@"logp {Regex.Escape(F(pair.RefRejected!.Value))}\b"), output[rejectedAt..]);
    }

    [Fact]
    public void Stats_counts_the_pairs_and_gives_the_severity_count_minimum_mean_and_maximum()
    {
        string db = Import();
        string output = LlavamodProcess.Succeeds(_dir, "pairs", "stats", "--db", db, "--bins", "2");
        Assert.Matches(new Regex($@"\b{Pairs.Length} pairs\b"), output);
        var severity = Pairs.Select(p => p.Severity).ToArray();
        string line = output.Split('\n').Single(l => l.Contains("severity"));
        foreach (var (name, value) in new[] { ("n", (double)severity.Length), ("min", severity.Min()), ("mean", severity.Average()), ("max", severity.Max()) })
            Assert.Matches(new Regex($@"\b{name} {Regex.Escape(F(value))}\b"), line);
    }
}
