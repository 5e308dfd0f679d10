using System.Diagnostics;
using LlavaMod.Preferences;

namespace LlavaMod.Benchmarks.Pairs;

/// <summary>Latency of <see cref="PairStore.ListPairs"/>, the query <c>llavamod pairs list</c> runs:
/// page of 50 with a filter and a sort, first page and a keyset page deep in the order.</summary>
public static class PairListBench
{
    public static void Run(string db)
    {
        using var store = PairStore.Open(db, readOnly: true);
        long total = store.CountPairs(new PairQuery());
        var cases = new (string Name, PairQuery Query)[]
        {
            ("id order, no filter", new PairQuery()),
            ("split=train, sort gap desc", new PairQuery { Split = PairSplit.Train, Sort = PairSort.Gap, Descending = true }),
            ("min-gap 2, sort severity desc", new PairQuery { MinGap = 2, Sort = PairSort.Severity, Descending = true }),
            ("min-length 100, sort length", new PairQuery { MinLength = 100, Sort = PairSort.Length }),
            ("run=bench, split=val, sort length desc", new PairQuery { Run = PairStoreBench.Run.Name, Split = PairSplit.Val, Sort = PairSort.Length, Descending = true }),
            ("text 'purple cylinder', sort id", new PairQuery { Text = "purple cylinder" }),
        };
        Console.WriteLine($"pairs list on {total:N0} pairs, page of 50, median of 9 after one warm-up (ms):");
        foreach (var (name, query) in cases)
        {
            var first = Time(() => store.ListPairs(query));
            // A keyset page in the middle of the matching pairs, in the same order.
            long middle = store.CountPairs(query) / 2;
            long after = store.ListPairs(query with { Limit = 1, Offset = (int)middle }).Select(r => r.Id).FirstOrDefault();
            var deep = after == 0 ? double.NaN : Time(() => store.ListPairs(query with { After = after }));
            Console.WriteLine($"  {name,-42} first page {first,8:F2}   keyset page mid-order {deep,8:F2}");
        }
    }

    static double Time(Func<IReadOnlyList<PairRow>> list)
    {
        if (list().Count == 0) return double.NaN;
        var times = new double[9];
        for (int i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            list();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
