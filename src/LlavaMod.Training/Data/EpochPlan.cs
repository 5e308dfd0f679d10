namespace LlavaMod.Training.Data;

/// <summary>Where one row lives: shard index in the dataset manifest, row index in that shard.</summary>
public readonly record struct RowAddress(int Shard, int Row);

/// <summary>
/// The order in which one epoch visits the rows, decided up front from the shard row counts and
/// token lengths alone, so it is deterministic (seed, epoch) and a resumed run can jump to any
/// batch without replaying data:
/// 1. the shard order is shuffled;
/// 2. shards are taken <c>ShardsPerBuffer</c> at a time (the bounded shuffle buffer: only those
///    shards are held in memory), and the rows of a buffer are shuffled together;
/// 3. within a buffer, rows are cut into mega-batches of <c>LengthGroupBatches</c> batches, sorted
///    by token length, and cut into batches (HF's length-grouped sampling: little padding, still
///    random); the batches of a buffer are then shuffled so long ones do not always come first.
/// </summary>
public sealed class EpochPlan
{
    public sealed record Options(int BatchSize, int ShardsPerBuffer = 4, int LengthGroupBatches = 16, bool DropLast = false);

    public IReadOnlyList<RowAddress[]> Batches { get; }

    EpochPlan(IReadOnlyList<RowAddress[]> batches) => Batches = batches;

    /// <param name="tokenLengths">per shard, the token count of each row.</param>
    public static EpochPlan Create(IReadOnlyList<int[]> tokenLengths, int seed, int epoch, Options options)
    {
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "batch size must be ≥ 1");
        // Not HashCode.Combine: .NET randomises it per process, which would change the order between runs.
        var random = new Random(unchecked(seed * 1_000_003 + epoch * 7_919 + 0x5eed));
        int[] shardOrder = Enumerable.Range(0, tokenLengths.Count).ToArray();
        random.Shuffle(shardOrder);

        var batches = new List<RowAddress[]>();
        var carry = new List<RowAddress>();
        for (int start = 0; start < shardOrder.Length; start += options.ShardsPerBuffer)
        {
            var rows = new List<RowAddress>();
            foreach (int shard in shardOrder.Skip(start).Take(options.ShardsPerBuffer))
                for (int row = 0; row < tokenLengths[shard].Length; row++)
                    rows.Add(new RowAddress(shard, row));
            var buffer = rows.ToArray();
            random.Shuffle(buffer);

            var bufferBatches = new List<RowAddress[]>();
            int mega = options.BatchSize * Math.Max(1, options.LengthGroupBatches);
            foreach (var chunk in buffer.Chunk(mega))
            {
                var sorted = chunk.OrderByDescending(a => tokenLengths[a.Shard][a.Row]).ToList();
                carry.AddRange(sorted);
                while (carry.Count >= options.BatchSize)
                {
                    bufferBatches.Add(carry.GetRange(0, options.BatchSize).ToArray());
                    carry.RemoveRange(0, options.BatchSize);
                }
            }
            var shuffled = bufferBatches.ToArray();
            random.Shuffle(shuffled);
            batches.AddRange(shuffled);
        }
        if (carry.Count > 0 && !options.DropLast) batches.Add(carry.ToArray());
        return new EpochPlan(batches);
    }
}
