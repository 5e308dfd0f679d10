using LlavaMod.Data.Text;
using LlavaMod.Core;
using LlavaMod.Preferences;
using LlavaMod.Data.Images;

namespace LlavaMod.Training.Data;

/// <summary>
/// Preference pairs from the pair index as batches for the training loop. Each pair becomes two
/// supervised sequences, prompt + chosen and prompt + rejected, with labels on the response
/// tokens only; a batch of N pairs is a <see cref="PairBatch"/>. The order is
/// an <see cref="EpochPlan"/> over the pairs (seeded, length-grouped), so pd resumes exactly too.
/// Pairs must carry the teacher's reference log-probs (stored by 'pairs mine' or 'pairs reference'): the pd stage never
/// loads the teacher. Images are located at load and their bytes read when a batch is made (on the
/// trainer's prefetch thread). Disposing frees the images' scratch file.
/// </summary>
public sealed class PairBatches : ITrainingBatches, IDisposable
{
    readonly List<TrainingPair> _pairs;
    readonly PairImages _images;
    readonly int _seed;
    readonly EpochPlan.Options _options;
    readonly Dictionary<int, EpochPlan> _plans = new();

    public PairBatches(PairSet set, int seed, int pairsPerBatch, int lengthGroupBatches = 16)
    {
        if (set.Pairs.Count == 0) throw new LlavaModException("no preference pairs to train on");
        _pairs = set.Pairs.ToList();
        _images = set.Images;
        _seed = seed;
        _options = new EpochPlan.Options(pairsPerBatch, ShardsPerBuffer: 1, LengthGroupBatches: lengthGroupBatches);
    }

    /// <summary>
    /// Reads the split's pairs and locates their images, from <paramref name="shards"/> (the data the
    /// pairs were mined from; only the rows the pairs name are read, their images copied to a scratch
    /// file in <paramref name="spillDir"/>, default the temp folder) or files under
    /// <paramref name="imageRoot"/>, see <see cref="PairImages"/>. A pair without reference log-probs,
    /// token ids or a findable image is an error naming it, before any training.
    /// </summary>
    /// <param name="tokenizerFingerprint">The policy's tokenizer: a run whose token ids were made with another is refused (null: not checked).</param>
    public static PairSet Load(string dbPath, string split, string? imageRoot, IReadOnlyList<string>? shards = null, string? spillDir = null, string? tokenizerFingerprint = null)
    {
        if (!File.Exists(dbPath)) throw LlavaModException.ForFile(dbPath, "pair index not found (make one with 'llavamod pairs mine' or 'llavamod pairs import')");
        var pairs = new List<TrainingPair>();
        var names = new List<(string? ImageKey, string? ImagePath)>();
        using (var store = PairStore.Open(dbPath, readOnly: true))
        {
            if (tokenizerFingerprint is not null)
                foreach (var (run, recorded) in store.RunTokenizers(split))
                    if (recorded is not null && recorded != tokenizerFingerprint)
                        throw LlavaModException.ForFile(dbPath, $"run '{run}' was tokenized with another tokenizer ({recorded[..Math.Min(12, recorded.Length)]}…) than the model's " +
                            $"({tokenizerFingerprint[..Math.Min(12, tokenizerFingerprint.Length)]}…): its token ids would mean other words to the policy; mine or tokenize the pairs with this model's tokenizer");
            foreach (var pair in store.EnumerateTrainingPairs(split))
            {
                if (pair.RefChosenLogp is not double refChosen || pair.RefRejectedLogp is not double refRejected)
                    throw LlavaModException.ForRow(dbPath, pair.PairId, "has no reference (teacher) log-probs; the pd stage uses the teacher as reference: compute them with 'llavamod pairs reference --teacher DIR'");
                if (pair.PromptTokenIds is null || pair.ChosenTokenIds is null || pair.RejectedTokenIds is null)
                    throw LlavaModException.ForRow(dbPath, pair.PairId, "has no token ids (imported without a tokenizer); tokenize it with 'llavamod pairs reference --teacher DIR'");
                pairs.Add(new TrainingPair(pair.PairId, pair.PromptTokenIds, pair.ChosenTokenIds, pair.RejectedTokenIds, refChosen, refRejected, pair.Severity));
                names.Add((pair.ImageKey, pair.ImagePath));
            }
        }
        var images = new PairImages(imageRoot, shards, spillDir);
        try
        {
            var located = images.LocateAll(pairs.Select((p, i) => (p.PairId, names[i].ImageKey, names[i].ImagePath)).ToList(), dbPath);
            for (int i = 0; i < pairs.Count; i++) pairs[i] = pairs[i] with { Image = located[i] };
        }
        catch
        {
            images.Dispose();
            throw;
        }
        return new PairSet(pairs, images);
    }

    public int BatchesPerEpoch(int epoch) => Plan(epoch).Batches.Count;

    public IEnumerable<(TrainingPosition Position, TrainingBatch Batch)> From(TrainingPosition start, int epochs)
    {
        for (int epoch = start.Epoch; epoch < epochs; epoch++)
        {
            var plan = Plan(epoch);
            for (int b = epoch == start.Epoch ? start.Batch : 0; b < plan.Batches.Count; b++)
                yield return (new TrainingPosition(epoch, b), Batch(plan.Batches[b].Select(a => _pairs[a.Row]).ToList()));
        }
    }

    PairBatch Batch(IReadOnlyList<TrainingPair> pairs)
    {
        var images = _images.Read(pairs.Select(p => p.Image).ToList());
        return new PairBatch(pairs, pairs.Select((p, i) => p.Chosen(images[i])).ToList(), pairs.Select((p, i) => p.Rejected(images[i])).ToList());
    }

    public void Dispose() => _images.Dispose();

    /// <summary>The epoch's plan; the training loop asks for it while the prefetch thread reads batches.</summary>
    EpochPlan Plan(int epoch)
    {
        lock (_plans)
        {
            if (!_plans.TryGetValue(epoch, out var plan))
                _plans[epoch] = plan = EpochPlan.Create([_pairs.Select(p => p.Tokens).ToArray()], _seed, epoch, _options);
            return plan;
        }
    }
}
