using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Reference;

namespace LlavaMod.Training.Data;

/// <summary>A preference pair as the pd stage needs it: both sequences and the teacher's reference log-probs.</summary>
public sealed record TrainingPair(long PairId, SupervisedExample Chosen, SupervisedExample Rejected, double RefChosenLogp, double RefRejectedLogp, double Severity);

/// <summary>
/// Preference pairs from the pair index as batches for the training loop. Each pair becomes two
/// supervised sequences, prompt + chosen and prompt + rejected, with labels on the response
/// tokens only; a batch of N pairs is 2N sequences, chosen and rejected interleaved. The order is
/// an <see cref="EpochPlan"/> over the pairs (seeded, length-grouped), so pd resumes exactly too.
/// Pairs must carry the teacher's reference log-probs (stored by 'pairs mine' or 'pairs reference'): the pd stage never
/// loads the teacher.
/// </summary>
public sealed class PairBatches : ITrainingBatches
{
    readonly List<TrainingPair> _pairs;
    readonly int _seed;
    readonly EpochPlan.Options _options;
    readonly Dictionary<int, EpochPlan> _plans = new();

    public IReadOnlyDictionary<string, TrainingPair> ByChosenKey { get; }

    public PairBatches(IReadOnlyList<TrainingPair> pairs, int seed, int pairsPerBatch, int lengthGroupBatches = 16)
    {
        if (pairs.Count == 0) throw new LlavaModException("no preference pairs to train on");
        _pairs = pairs.ToList();
        _seed = seed;
        _options = new EpochPlan.Options(pairsPerBatch, ShardsPerBuffer: 1, LengthGroupBatches: lengthGroupBatches);
        ByChosenKey = _pairs.ToDictionary(p => p.Chosen.Key);
    }

    /// <summary>Reads the split's pairs; images come from <paramref name="shards"/> (the data the pairs were mined from) or files under <paramref name="imageRoot"/>, see <see cref="PairImages"/>.</summary>
    public static IReadOnlyList<TrainingPair> Load(string dbPath, string split, string? imageRoot, IReadOnlyList<string>? shards = null)
    {
        var images = new PairImages(imageRoot, shards);
        if (!File.Exists(dbPath)) throw LlavaModException.ForFile(dbPath, "pair index not found (make one with 'llavamod pairs mine' or 'llavamod pairs import')");
        using var store = PairStore.Open(dbPath, readOnly: true);
        var pairs = new List<TrainingPair>();
        foreach (var pair in store.EnumerateTrainingPairs(split))
        {
            if (pair.RefChosenLogp is not double refChosen || pair.RefRejectedLogp is not double refRejected)
                throw LlavaModException.ForRow(dbPath, pair.PairId, "has no reference (teacher) log-probs; the pd stage uses the teacher as reference: compute them with 'llavamod pairs reference --teacher DIR'");
            if (pair.PromptTokenIds is null || pair.ChosenTokenIds is null || pair.RejectedTokenIds is null)
                throw LlavaModException.ForRow(dbPath, pair.PairId, "has no token ids (imported without a tokenizer); tokenize it with 'llavamod pairs reference --teacher DIR'");
            byte[]? image = images.For(pair.PairId, pair.ImageKey, pair.ImagePath, dbPath);
            pairs.Add(new TrainingPair(pair.PairId,
                Sequence($"pair-{pair.PairId}-chosen", pair.PromptTokenIds, pair.ChosenTokenIds, image),
                Sequence($"pair-{pair.PairId}-rejected", pair.PromptTokenIds, pair.RejectedTokenIds, image),
                refChosen, refRejected, pair.Severity));
        }
        return pairs;
    }

    public int BatchesPerEpoch(int epoch) => Plan(epoch).Batches.Count;

    public IEnumerable<(TrainingPosition Position, SupervisedExample[] Batch)> From(TrainingPosition start, int epochs)
    {
        for (int epoch = start.Epoch; epoch < epochs; epoch++)
        {
            var plan = Plan(epoch);
            for (int b = epoch == start.Epoch ? start.Batch : 0; b < plan.Batches.Count; b++)
                yield return (new TrainingPosition(epoch, b), plan.Batches[b].SelectMany(a => new[] { _pairs[a.Row].Chosen, _pairs[a.Row].Rejected }).ToArray());
        }
    }

    EpochPlan Plan(int epoch)
    {
        if (!_plans.TryGetValue(epoch, out var plan))
            _plans[epoch] = plan = EpochPlan.Create([_pairs.Select(p => p.Chosen.InputIds.Length + p.Rejected.InputIds.Length).ToArray()], _seed, epoch, _options);
        return plan;
    }

    static SupervisedExample Sequence(string key, int[] prompt, int[] response, byte[]? image)
    {
        var ids = prompt.Concat(response).Select(i => (long)i).ToArray();
        var labels = Enumerable.Repeat(LlavaBatch.IgnoreIndex, prompt.Length).Concat(response.Select(i => (long)i)).ToArray();
        return new SupervisedExample(key, ids, labels, image);
    }
}
