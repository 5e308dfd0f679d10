using LlavaMod.Training.Data;

namespace LlavaMod.Training.Tests.Data;

public class EpochPlanTests
{
    static List<int[]> Lengths(int shards, int rowsPerShard, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, shards).Select(_ => Enumerable.Range(0, rowsPerShard).Select(_ => random.Next(5, 500)).ToArray()).ToList();
    }

    [Fact]
    public void Every_row_is_visited_exactly_once_per_epoch()
    {
        var lengths = Lengths(7, 33, 1);
        var plan = EpochPlan.Create(lengths, seed: 3, epoch: 0, new EpochPlan.Options(BatchSize: 8, ShardsPerBuffer: 3));
        var visited = plan.Batches.SelectMany(b => b).ToList();
        Assert.Equal(7 * 33, visited.Count);
        Assert.Equal(visited.Count, visited.Distinct().Count());
        Assert.All(plan.Batches.SkipLast(1), b => Assert.Equal(8, b.Length));
    }

    [Fact]
    public void Same_seed_and_epoch_give_the_same_order_and_another_epoch_a_different_one()
    {
        var lengths = Lengths(5, 40, 2);
        var options = new EpochPlan.Options(BatchSize: 4);
        var a = EpochPlan.Create(lengths, 3, 0, options).Batches.SelectMany(b => b).ToArray();
        var b = EpochPlan.Create(lengths, 3, 0, options).Batches.SelectMany(b => b).ToArray();
        var c = EpochPlan.Create(lengths, 3, 1, options).Batches.SelectMany(b => b).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Length_grouping_reduces_padding_against_a_plain_shuffle()
    {
        var lengths = Lengths(4, 256, 5);
        int Padding(EpochPlan plan) => plan.Batches.Sum(batch =>
        {
            var l = batch.Select(r => lengths[r.Shard][r.Row]).ToArray();
            return l.Max() * l.Length - l.Sum();
        });
        var grouped = EpochPlan.Create(lengths, 1, 0, new EpochPlan.Options(BatchSize: 8, LengthGroupBatches: 16));
        var plain = EpochPlan.Create(lengths, 1, 0, new EpochPlan.Options(BatchSize: 8, LengthGroupBatches: 1));
        Assert.True(Padding(grouped) * 3 < Padding(plain), $"grouped {Padding(grouped)} vs plain {Padding(plain)}");
    }

    [Fact]
    public void A_buffer_holds_only_its_shards()
    {
        var lengths = Lengths(6, 10, 9);
        var plan = EpochPlan.Create(lengths, 7, 0, new EpochPlan.Options(BatchSize: 10, ShardsPerBuffer: 2, LengthGroupBatches: 1));
        // 20 rows per buffer, batch 10: each batch draws from the two shards of its buffer only.
        foreach (var pairOfBatches in plan.Batches.Chunk(2))
            Assert.True(pairOfBatches.SelectMany(b => b).Select(r => r.Shard).Distinct().Count() <= 2);
    }
}
