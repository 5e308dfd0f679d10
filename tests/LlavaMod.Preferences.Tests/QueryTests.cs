using System.Text.RegularExpressions;

namespace LlavaMod.Preferences.Tests;

/// <summary>Filters, sorts and paging checked against LINQ over the generated pairs.</summary>
public sealed class QueryTests : IDisposable
{
    readonly TempDir _dir = new();
    readonly PairStore _store;
    readonly List<ExpectedPair> _all = [];

    public QueryTests()
    {
        _store = PairStore.Open(_dir.File("pairs.db"));
        foreach (var (run, seed) in new[] { ("run-a", 10), ("run-b", 11) })
        {
            var (batch, expected) = TestData.Mined(120, seed, run, firstOrdinal: _all.Count);
            _store.AddMinedBatch(_store.CreateRun(TestData.Run(run)), batch);
            _all.AddRange(expected);
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    static bool HasWord(string text, string word) => Regex.IsMatch(text, $@"\b{Regex.Escape(word)}\b", RegexOptions.IgnoreCase);

    public static TheoryData<string> Filters => new() { "none", "run", "gap", "severity", "length", "source", "split", "text", "mixed" };

    (PairQuery Query, Func<ExpectedPair, bool> Keep) Filter(string name) => name switch
    {
        "run" => (new PairQuery { Run = "run-b" }, e => e.Run == "run-b"),
        "gap" => (new PairQuery { MinGap = 1, MaxGap = 3 }, e => e.Gap >= 1 && e.Gap <= 3),
        "severity" => (new PairQuery { MinSeverity = 1.5 }, e => e.Severity >= 1.5),
        "length" => (new PairQuery { MinLength = 10, MaxLength = 25 }, e => e.Length >= 10 && e.Length <= 25),
        "source" => (new PairQuery { Source = PairSource.Imported }, e => e.Source == PairSource.Imported),
        "split" => (new PairQuery { Split = PairSplit.Val }, e => e.Split == PairSplit.Val),
        "text" => (new PairQuery { Text = "Window TREE" },
            e => new[] { e.PromptText, e.ChosenText, e.RejectedText }.Any(t => HasWord(t, "window") && HasWord(t, "tree"))),
        "mixed" => (new PairQuery { Run = "run-a", MinGap = 0, MinSeverity = 0.5, Text = "dog" },
            e => e.Run == "run-a" && e.Gap >= 0 && e.Severity >= 0.5 && new[] { e.PromptText, e.ChosenText, e.RejectedText }.Any(t => HasWord(t, "dog"))),
        _ => (new PairQuery(), _ => true),
    };

    static IEnumerable<ExpectedPair> Sorted(IEnumerable<ExpectedPair> pairs, PairSort sort, bool desc)
    {
        Func<ExpectedPair, double> key = sort switch
        {
            PairSort.Gap => e => e.Gap,
            PairSort.Severity => e => e.Severity,
            PairSort.Length => e => e.Length,
            _ => e => e.Id,
        };
        return desc ? pairs.OrderByDescending(key).ThenByDescending(e => e.Id) : pairs.OrderBy(key).ThenBy(e => e.Id);
    }

    [Fact]
    public void Ids_follow_insertion_order()
    {
        var rows = _store.ListPairs(new PairQuery { Limit = 10_000 });
        Assert.Equal(_all.Select(e => e.Id), rows.Select(r => r.Id));
        Assert.Equal(_all.Select(e => e.ChosenText), rows.Select(r => r.ChosenText));
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public void Filters_match_the_reference_in_every_sort_order(string filter)
    {
        var (query, keep) = Filter(filter);
        var expected = _all.Where(keep).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Count, _store.CountPairs(query));
        foreach (var sort in Enum.GetValues<PairSort>())
        foreach (bool desc in new[] { false, true })
        {
            var rows = _store.ListPairs(query with { Sort = sort, Descending = desc, Limit = 10_000 });
            Assert.Equal(Sorted(expected, sort, desc).Select(e => e.Id), rows.Select(r => r.Id));
        }
    }

    [Theory]
    [InlineData(PairSort.Gap, false)]
    [InlineData(PairSort.Severity, true)]
    [InlineData(PairSort.Length, false)]
    [InlineData(PairSort.Id, true)]
    public void Keyset_and_offset_paging_walk_the_same_order(PairSort sort, bool desc)
    {
        var query = new PairQuery { MinSeverity = 0.2, Sort = sort, Descending = desc, Limit = 37 };
        var expected = Sorted(_all.Where(e => e.Severity >= 0.2), sort, desc).Select(e => e.Id).ToList();
        var byKeyset = new List<long>();
        var byOffset = new List<long>();
        long? after = null;
        while (true)
        {
            var page = _store.ListPairs(query with { After = after });
            if (page.Count == 0) break;
            byKeyset.AddRange(page.Select(r => r.Id));
            after = page[^1].Id;
        }
        for (int offset = 0; ; offset += query.Limit)
        {
            var page = _store.ListPairs(query with { Offset = offset });
            if (page.Count == 0) break;
            byOffset.AddRange(page.Select(r => r.Id));
        }
        Assert.Equal(expected, byKeyset);
        Assert.Equal(expected, byOffset);
    }

    [Fact]
    public void Search_words_are_not_read_as_fts_syntax()
    {
        Assert.Empty(_store.ListPairs(new PairQuery { Text = "\"dog OR cat* NEAR(" }));
    }

    [Fact]
    public void Statistics_match_the_reference_histograms()
    {
        var query = new PairQuery { Run = "run-a" };
        var subset = _all.Where(e => e.Run == "run-a").ToList();
        var stats = _store.GetStatistics(query, bins: 7);
        Assert.Equal(subset.Count, stats.Pairs);
        Assert.Equal(subset.Count(e => e.Split == PairSplit.Val), stats.BySplit.GetValueOrDefault("val"));
        Assert.Equal(subset.Count(e => e.Source == PairSource.Mined), stats.BySource.GetValueOrDefault("mined"));
        var reference = new Dictionary<string, double[]>
        {
            ["gap"] = subset.Select(e => e.Gap).ToArray(),
            ["chosen_score"] = subset.Select(e => e.ChosenScore).ToArray(),
            ["rejected_tokens"] = subset.Select(e => (double)e.RejectedTokens).ToArray(),
            ["severity"] = subset.Select(e => e.Severity).ToArray(),
        };
        foreach (var (name, values) in reference)
        {
            var h = stats.Histograms.Single(x => x.Name == name);
            double min = values.Min(), max = values.Max(), width = (max - min) / 7;
            var counts = new long[7];
            foreach (double v in values) counts[Math.Min((int)((v - min) / width), 6)]++;
            Assert.Equal(min, h.Min);
            Assert.Equal(max, h.Max);
            Assert.Equal(values.Average(), h.Mean, 9);
            Assert.Equal(counts, h.Counts);
        }
    }

    [Theory]
    [InlineData(PairSort.Gap, "ix_pairs_gap")]
    [InlineData(PairSort.Length, "ix_pairs_length")]
    [InlineData(PairSort.Severity, "ix_pairs_severity")]
    public void A_sorted_page_with_run_split_and_source_filters_walks_the_sort_index(PairSort sort, string index)
    {
        // Through the split or run index SQLite would fetch every matching pair and sort them all
        // (seconds on 1 M pairs); walking the sort index stops after one page.
        var query = new PairQuery { Run = "run-a", Split = PairSplit.Train, Source = PairSource.Mined, Sort = sort, Descending = true };
        var (sql, args) = _store.ListSql(query);
        var plan = _store.QueryPlan(sql, args);
        Assert.Contains(plan, line => line.Contains($"SCAN p USING INDEX {index}"));
        Assert.DoesNotContain(plan, line => line.Contains("TEMP B-TREE FOR ORDER BY"));
        // Sorted by id, the split index is still the way in (ordered by id within a split).
        (sql, args) = _store.ListSql(new PairQuery { Split = PairSplit.Val });
        Assert.Contains(_store.QueryPlan(sql, args), line => line.Contains("ix_pairs_split"));
    }
}
