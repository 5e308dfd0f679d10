using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Sampling;
using LlavaMod.Teacher.Scoring;
using TorchSharp;

namespace LlavaMod.Teacher.Mining;

/// <summary>Settings of <c>llavamod pairs mine</c>.</summary>
public sealed record MiningOptions
{
    public required string Samples { get; init; }
    public required string Teacher { get; init; }
    /// <summary>The ground-truth scorer of <see cref="MiningScorer.Reference"/> (the caller builds it from its
    /// ground-truth files, e.g. the demo's <c>DemoPromptScorer</c>); unused by the judge.</summary>
    public IPromptScorer? GroundTruthScorer { get; init; }
    public required string Db { get; init; }
    public MiningScorer Scorer { get; init; } = MiningScorer.Reference;
    /// <summary>Judge: claims per teacher forward pass.</summary>
    public int JudgeClaimsPerForward { get; init; } = 64;
    public string RunName { get; init; } = "mined";
    public PairMiningPolicy Policy { get; init; } = new();
    public double ValFraction { get; init; } = 0.05;
    /// <summary>Device and torch threads, used when the teacher must run (judge, or samples from another model).</summary>
    public RuntimeOptions Runtime { get; init; } = RuntimeOptions.Default;
    /// <summary>This process's share of a split job: it mines the samples files (data shards) whose index mod n is its own, into its own --db.</summary>
    public WorkerShare Share { get; init; } = WorkerShare.Single;
}

/// <summary>What a mining run added.</summary>
public sealed record MiningSummary(int Prompts, int Responses, int PairsInserted, int PromptsWithoutPair, bool ReferenceFromSamples);

/// <summary>
/// Scores sampled responses with the reference scorer (ground truth) or the teacher as judge
/// (<see cref="TeacherJudge"/>, claim by claim), mines chosen/rejected pairs with a
/// <see cref="PairMiningPolicy"/>, and stores prompts, responses and pairs in the pair index with
/// the teacher's summed log-probs of both responses: the reference of the pd stage. When the
/// samples came from the teacher itself, those log-probs are the samples' own per-token log-probs
/// (taken at temperature 1, unfiltered); otherwise the teacher scores the responses teacher-forced.
/// One transaction per data shard: a crash loses no committed pair, and a rerun inserts nothing twice.
/// </summary>
public static class MiningPass
{
    public static MiningSummary Run(MiningOptions o, Action<string>? log = null, CancellationToken ct = default)
    {
        log ??= _ => { };
        var samples = SampleManifest.Load(o.Samples);
        var data = DatasetManifest.Load(samples.DataFolder);
        ShardsBeforeUse.Require(samples.DataFolder, data, o.Teacher, "teacher");
        string teacherFingerprint = ModelFingerprint.OfWeights(o.Teacher);
        bool reuse = teacherFingerprint == samples.ModelFingerprint;
        LlavaModel? teacher = null;
        torch.Device device = torch.CPU;
        if (!reuse || o.Scorer == MiningScorer.Judge)
        {
            device = o.Runtime.Apply();
            teacher = Checkpoint.Load(o.Teacher, torch.ScalarType.Float32, device);
            teacher.eval();
        }
        var tokenizer = QwenTokenizer.Load(o.Teacher);
        IPromptScorer scorer = o.Scorer switch
        {
            MiningScorer.Judge => new JudgePromptScorer(new TeacherJudge(teacher!, tokenizer, JudgeTemplate(data, samples.DataFolder), device, o.JudgeClaimsPerForward), o.JudgeClaimsPerForward),
            _ => o.GroundTruthScorer ?? throw new LlavaModException("the reference scorer needs ground truth (--ground-truth); without it use --scorer judge"),
        };

        using var outputLock = o.Share.IsSplit ? OutputLock.ForFile(o.Db) : null;
        using var store = PairStore.Open(o.Db);
        var runInfo = new RunInfo(o.RunName, Path.GetFullPath(o.Teacher), teacherFingerprint, samples.ModelFolder, samples.ModelFingerprint,
            scorer.Name, scorer.Version, Json.Serialize(new { o.Policy, o.ValFraction, samples.Temperature, samples.SamplesPerPrompt, samples.Seed, scorer = scorer.Settings }));
        var finished = o.Share.IsSplit ? BeginWorker(store, o, runInfo, samples) : new HashSet<string>();
        long run = store.CreateRun(runInfo);
        if (data.TokenizerFingerprint.Length > 0) store.RecordRunTokenizer(run, data.TokenizerFingerprint);
        int prompts = 0, responses = 0, inserted = 0, empty = 0;
        try
        {
            foreach (var shard in o.Share.Take(samples.Shards))
            {
                ct.ThrowIfCancellationRequested();
                if (finished.Contains(shard.DataShard))
                {
                    log($"{shard.File}: mined earlier, skipped");
                    continue;
                }
                var rows = ShardReader.ReadRows(Path.Combine(samples.DataFolder, shard.DataShard), ct).ToBlockingEnumerable(ct).ToDictionary(r => r.Key);
                var batch = new List<MinedPrompt>();
                foreach (var group in SamplingPass.ReadSamples(Path.Combine(o.Samples, shard.File)).GroupBy(s => s.Key))
                {
                    var row = rows.TryGetValue(group.Key, out var r) ? r
                        : throw LlavaModException.ForFile(Path.Combine(o.Samples, shard.File), $"row key {group.Key} is not in the data shard {shard.DataShard}");
                    using var scope = torch.NewDisposeScope();
                    var list = group.ToList();
                    var mined = MinePrompt(SupervisedExample.FromShardRow(row), Question(row, tokenizer), row.Image?.Path, scorer.Score(row, list), list, o, tokenizer, reuse ? null : teacher, device);
                    if (mined.Pairs.Count == 0) empty++;
                    batch.Add(mined);
                }
                var result = store.InTransaction(tx =>
                {
                    var written = tx.AddMinedBatch(run, batch);
                    if (o.Share.IsSplit) tx.RecordWorkerUnit(shard.DataShard);
                    return written;
                });
                FaultPoint.Pass("shard");
                (prompts, responses, inserted) = (prompts + result.Prompts, responses + result.Responses, inserted + result.PairsInserted);
                log($"{shard.File}: {result.Prompts} prompts, {result.PairsInserted} new pairs");
            }
        }
        finally
        {
            teacher?.Dispose();
        }
        return new MiningSummary(prompts, responses, inserted, empty, reuse);
    }

    /// <summary>
    /// A worker's --db holds its run alone and records its part (the samples files it mines) and
    /// everything the job's workers must share; returns the data shards it has mined already.
    /// </summary>
    static HashSet<string> BeginWorker(PairStore store, MiningOptions o, RunInfo run, SampleManifest samples)
    {
        var others = store.ListRuns().Where(name => name != o.RunName).ToList();
        if (others.Count > 0)
            throw LlavaModException.ForFile(o.Db, $"holds other runs ({string.Join(", ", others)}); a worker of a split job writes its own new file");
        var part = WorkerPart.Of(o.Share, samples.Shards.Select(s => s.DataShard).ToList());
        string settings = Json.Serialize(new
        {
            run = run with { SettingsJson = "" }, run_settings = System.Text.Json.Nodes.JsonNode.Parse(run.SettingsJson),
            samples = Path.GetFullPath(o.Samples), samples_settings = samples.SettingsKey, data_checksum = samples.DataChecksum,
        });
        store.BeginWorker(new PairWorkerInfo(PairIndexMerger.MineVerb, part, settings));
        return store.FinishedWorkerUnits().Select(u => u.Unit).ToHashSet();
    }

    /// <summary>The judge asks in the chat template the data (and so the teacher's training) used.</summary>
    static ChatTemplateKind JudgeTemplate(DatasetManifest data, string folder) => string.IsNullOrEmpty(data.Template)
        ? throw LlavaModException.ForFile(folder, "the data manifest records no chat template; the judge needs the one the teacher was trained with")
        : ChatTemplateKinds.Parse(data.Template);

    /// <summary>The user question of a data row, stored as the prompt text (its token ids hold the
    /// rendered prompt): the first user turn of the row's conversation; rows whose conversation is not a
    /// list of turns fall back to the decoded prompt, cut back to its question.</summary>
    static string Question(ShardRow row, QwenTokenizer tokenizer)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(row.Conversation);
            if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array)
                foreach (var turn in doc.RootElement.EnumerateArray())
                    if (turn.ValueKind == System.Text.Json.JsonValueKind.Object && turn.TryGetProperty("role", out var role) && role.GetString() == "user"
                        && turn.TryGetProperty("text", out var text) && text.ValueKind == System.Text.Json.JsonValueKind.String)
                        return UserQuestion.Of(text.GetString()!);
        }
        catch (System.Text.Json.JsonException) { }
        var prompt = SupervisedExample.FromShardRow(row).PromptOnly();
        return UserQuestion.Of(tokenizer.Decode(prompt.InputIds.Select(i => (int)i)));
    }

    static MinedPrompt MinePrompt(SupervisedExample row, string question, string? imagePath, PromptScores scored, IReadOnlyList<SampleRow> samples,
        MiningOptions o, QwenTokenizer tokenizer, LlavaModel? teacher, torch.Device device)
    {
        var prompt = row.PromptOnly();
        var scores = scored.Samples;
        var candidates = o.Policy.Mine(samples.Select((s, i) => new ScoredResponse(i, s.Text, scores[i].Score, s.TokenIds.Length)).ToList());

        double[] reference = samples.Select(s => s.TokenLogProbs.Sum(p => (double)p)).ToArray();
        if (teacher is not null && candidates.Count > 0)
        {
            var used = candidates.SelectMany(c => new[] { c.Chosen, c.Rejected }).Distinct().ToList();
            var logps = SequenceScorer.LogProbs(teacher, LlavaBatch.FromExamples(used.Select(_ => prompt).ToList(), teacher.Config.Vision, device),
                used.Select(i => samples[i].TokenIds.Select(t => (long)t).ToArray()).ToList());
            for (int j = 0; j < used.Count; j++) reference[used[j]] = logps[j].Sum;
        }

        var split = PromptKeys.SplitFor(row.Key, o.ValFraction);
        var responses = samples.Select((s, i) => new ResponseRecord(s.Text, s.TokenIds, scores[i].Score, scores[i].ClaimsJson,
            s.TokenLogProbs.Sum(p => (double)p))).ToList();
        var pairs = candidates.Select(c => new PairRecord(c.Chosen, c.Rejected, scores[c.Rejected].Severity,
            reference[c.Chosen], samples[c.Chosen].TokenIds.Length, reference[c.Rejected], samples[c.Rejected].TokenIds.Length, split)).ToList();
        return new MinedPrompt(new PromptRecord(row.Key, question, prompt.InputIds.Select(i => (int)i).ToArray(), row.Key, imagePath,
            scored.MetaJson), responses, pairs);
    }
}
