using LlavaMod.Data.Etl;

namespace LlavaMod.Data.Tests.Etl;

/// <summary>The ordered parallel map keeps input order, and with a byte budget stops starting items while the
/// finished ones waiting for the consumer hold more than it, however long the count window.</summary>
public class OrderedParallelTests
{
    static async IAsyncEnumerable<int> Items(int n)
    {
        for (int i = 0; i < n; i++) { await Task.Yield(); yield return i; }
    }

    static async Task<(List<int> Results, int MostAhead)> Run(long maxWaitingBytes)
    {
        int consumed = 0, mostAhead = 0;
        var results = new List<int>();
        await foreach (var r in OrderedParallel.MapAsync(Items(60), i =>
                       {
                           int ahead = i - Volatile.Read(ref consumed); // items started beyond what the consumer took
                           int seen;
                           while ((seen = Volatile.Read(ref mostAhead)) < ahead && Interlocked.CompareExchange(ref mostAhead, ahead, seen) != seen) { }
                           return i;
                       }, threads: 4, window: 100, bytesOf: _ => 10, maxWaitingBytes: maxWaitingBytes))
        {
            results.Add(r);
            await Task.Delay(2); // a slow writer
            Interlocked.Increment(ref consumed);
        }
        return (results, mostAhead);
    }

    [Fact]
    public async Task A_byte_budget_holds_the_producer_back_and_keeps_the_order()
    {
        var (bounded, ahead) = await Run(maxWaitingBytes: 25);
        Assert.Equal(Enumerable.Range(0, 60), bounded);
        // 25 bytes of waiting results (3 of 10 bytes: the wait starts above the budget), the 4 in flight and the one being taken
        Assert.True(ahead <= 3 + 4 + 1, $"{ahead} items ran ahead of the consumer");

        var (unbounded, farAhead) = await Run(maxWaitingBytes: long.MaxValue);
        Assert.Equal(Enumerable.Range(0, 60), unbounded);
        Assert.True(farAhead > 8, $"without a byte budget the producer should run ahead (the count window is 100), it ran {farAhead} ahead");
    }
}
