using LlavaMod.Data.Text;
using LlavaMod.Data.Shards;

namespace LlavaMod.Training.Data;

/// <summary>
/// Yields the batches of <see cref="EpochPlan"/>s from a position onward, loading each shard when
/// a batch first needs it and keeping only the shards of the current and the previous buffer in
/// memory. The stream is a pure function of (dataset, seed, options, position), which is what
/// makes a resumed run see exactly the rows it would have seen.
/// </summary>
public sealed class BatchStream(ShardDataset dataset, int seed, EpochPlan.Options options) : ITrainingBatches
{
    readonly Dictionary<int, IReadOnlyList<ShardRow>> _loaded = new();
    readonly Queue<int> _loadOrder = new();
    readonly Dictionary<int, EpochPlan> _plans = new();

    public int BatchesPerEpoch(int epoch) => Plan(epoch).Batches.Count;

    EpochPlan Plan(int epoch)
    {
        if (!_plans.TryGetValue(epoch, out var plan))
        {
            if (_plans.Count > 2) _plans.Clear();
            _plans[epoch] = plan = EpochPlan.Create(dataset.TokenLengths, seed, epoch, options);
        }
        return plan;
    }

    public IEnumerable<(TrainingPosition Position, TrainingBatch Batch)> From(TrainingPosition start, int epochs)
    {
        for (int epoch = start.Epoch; epoch < epochs; epoch++)
        {
            var plan = Plan(epoch);
            for (int b = epoch == start.Epoch ? start.Batch : 0; b < plan.Batches.Count; b++)
                yield return (new TrainingPosition(epoch, b), new SupervisedBatch(plan.Batches[b].Select(Load).ToArray()));
        }
    }

    SupervisedExample Load(RowAddress address)
    {
        if (!_loaded.TryGetValue(address.Shard, out var rows))
        {
            int keep = 2 * Math.Max(1, options.ShardsPerBuffer);
            while (_loadOrder.Count >= keep) _loaded.Remove(_loadOrder.Dequeue());
            rows = dataset.LoadShard(address.Shard);
            _loaded[address.Shard] = rows;
            _loadOrder.Enqueue(address.Shard);
        }
        return SupervisedExample.FromShardRow(rows[address.Row]);
    }
}
