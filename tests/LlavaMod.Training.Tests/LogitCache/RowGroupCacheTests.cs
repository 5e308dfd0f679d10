using LlavaMod.LogitCache;

namespace LlavaMod.Training.Tests.LogitCache;

/// <summary>Readers sharing a <see cref="RowGroupCache"/>: shuffled reads give the stored rows whatever the budget, the
/// cache never holds more than its budget except for the one group read last, and a disposed reader's groups leave it.</summary>
public sealed class RowGroupCacheTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-rowgroups-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const int Vocab = 500, K = 8;

    async Task<(string Path, List<TopKRow> Rows)> Write(string name, int seed)
    {
        var rows = SyntheticTeacher.Rows(rows: 40, minTokens: 1, maxTokens: 6, Vocab, K, scale: 3, zipf: 0, seed: seed)
            .Select(r => r with { Key = $"{name}-{r.Key}" }).ToList();
        string path = Path.Combine(_dir, name + ".parquet");
        await SyntheticTeacher.WriteAsync(path, SyntheticTeacher.Metadata(Vocab, K, rowGroupRows: 5), rows); // 8 groups
        return (path, rows);
    }

    async Task<long> ReadShuffled(RowGroupCache cache, LogitCacheReader a, LogitCacheReader b, List<TopKRow> rowsA, List<TopKRow> rowsB)
    {
        var all = rowsA.Select(r => (a, r)).Concat(rowsB.Select(r => (b, r))).ToArray();
        new Random(5).Shuffle(all);
        long most = 0; // the most bytes held while more than one group was
        foreach (var (reader, expected) in all.Concat(all))
        {
            var row = await reader.ReadAsync(expected.Key);
            Assert.Equal(expected.Key, row.Key);
            Assert.Equal(expected.Ids.SelectMany(t => t), row.Ids.SelectMany(t => t));
            Assert.True(cache.Groups >= 1, "the group read last was not kept");
            if (cache.Groups > 1) most = Math.Max(most, cache.Bytes);
        }
        return most;
    }

    [Theory]
    [InlineData(1L)]          // keeps the group read last only
    [InlineData(6_000L)]      // a few groups
    [InlineData(1L << 30)]    // everything
    public async Task Shuffled_reads_through_a_shared_cache_give_the_stored_rows_within_the_budget(long budget)
    {
        var (pathA, rowsA) = await Write("a", 1);
        var (pathB, rowsB) = await Write("b", 2);
        var cache = new RowGroupCache(budget);
        var a = await LogitCacheReader.OpenAsync(pathA, rowGroups: cache);
        await using var b = await LogitCacheReader.OpenAsync(pathB, rowGroups: cache);
        long most = await ReadShuffled(cache, a, b, rowsA, rowsB);
        Assert.True(most <= budget, $"the cache held {most} bytes over its budget of {budget}");
        if (budget == 1) Assert.Equal(1, cache.Groups);
        else Assert.True(cache.Groups > 1);

        // the last row read was b's (read a's first): disposing a must leave only b's groups
        await a.ReadAsync(rowsA[3].Key);
        await b.ReadAsync(rowsB[3].Key);
        long both = cache.Bytes;
        await a.DisposeAsync();
        if (budget == 1) Assert.Equal(both, cache.Bytes); // b's one group stays
        else Assert.True(cache.Bytes < both, "the disposed reader's groups stayed in the cache");
        Assert.True(cache.Groups >= 1);
        await using var again = await LogitCacheReader.OpenAsync(pathA, rowGroups: cache);
        Assert.Equal(rowsA[7].Ids.SelectMany(t => t), (await again.ReadAsync(rowsA[7].Key)).Ids.SelectMany(t => t));
    }

    [Fact]
    public void A_budget_must_be_positive() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RowGroupCache(0));
}
