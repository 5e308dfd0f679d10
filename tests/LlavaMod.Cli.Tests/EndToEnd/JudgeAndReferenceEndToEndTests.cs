using LlavaMod.Data.Text;
using LlavaMod.Models.Runtime;
using System.Text.Json;
using Dapper;
using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Reference;
using LlavaMod.Teacher.Scoring;
using LlavaMod.Training.Data;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Stages;
using Microsoft.Data.Sqlite;
using Parquet.Serialization;
using TorchSharp;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>'pairs mine --scorer judge' and 'pairs reference' through the real verbs on the demo workspace.</summary>
public class JudgeAndReferenceEndToEndTests(DemoWorkspace workspace) : IClassFixture<DemoWorkspace>
{
    string NewDir(string name) => Directory.CreateDirectory(Path.Combine(workspace.Root, name + "-" + Guid.NewGuid().ToString("N")[..6])).FullName;

    static SqliteConnection Raw(string db)
    {
        var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    [Fact]
    public void Mining_with_the_judge_stores_claims_whose_verdicts_make_the_scores()
    {
        string dir = NewDir("judge"), samples = Path.Combine(dir, "samples"), db = Path.Combine(dir, "pairs.sqlite");
        DemoWorkspace.Llavamod("teacher", "sample", "--model", workspace.Teacher, "--data", workspace.MineShards, "--out", samples,
            "--samples", "6", "--temperature", "1.5", "--max-new-tokens", "16", "--only-ids-ending-with", "-describe", "--threads", "1");
        DemoWorkspace.Llavamod("pairs", "mine", "--db", db, "--samples", samples, "--teacher", workspace.Teacher, "--scorer", "judge",
            "--run", "judged", "--val-fraction", "0", "--mode", "all-above-gap");

        using (var raw = Raw(db))
        {
            var run = raw.QuerySingle("SELECT scorer, scorer_version, settings_json, tokenizer_fingerprint FROM runs WHERE name = 'judged'");
            Assert.Equal("judge", (string)run.scorer);
            Assert.Equal(TeacherJudge.Version, (string)run.scorer_version);
            using var settings = JsonDocument.Parse((string)run.settings_json);
            Assert.Equal(TeacherJudge.QuestionTemplate, settings.RootElement.GetProperty("scorer").GetProperty("question").GetString());
            Assert.Equal(DatasetManifest.Load(workspace.MineShards).TokenizerFingerprint, (string)run.tokenizer_fingerprint);

            var responses = raw.Query("SELECT text, score, claims_json FROM responses").ToList();
            Assert.NotEmpty(responses);
            int withFalseClaims = 0;
            foreach (var r in responses)
            {
                var verdicts = ClaimsJson.Parse((string?)r.claims_json, "responses");
                // The stored claims are the splitter's claims of the text, and the score counts the false ones.
                Assert.Equal(ClaimSplitter.Split((string)r.text), verdicts.Select(v => v.Claim));
                Assert.Equal(-verdicts.Count(v => !v.Supported), (double)r.score);
                Assert.All(verdicts.Where(v => !v.Supported), v => Assert.Equal(ClaimSplitter.ContentWords(v.Claim), v.HallucinatedWords!));
                if (verdicts.Any(v => !v.Supported)) withFalseClaims++;
            }
            Assert.True(withFalseClaims > 0, "the judge found no false claim at all");
        }

        using var store = PairStore.Open(db, readOnly: true);
        var pairs = store.ListPairs(new PairQuery { Limit = 1000 });
        Assert.NotEmpty(pairs);
        foreach (var row in pairs)
        {
            var pair = store.GetPair(row.Id)!;
            Assert.True(pair.Chosen.Score > pair.Rejected.Score);
            var rejected = ClaimsJson.Parse(pair.Rejected.ClaimsJson, "pair");
            Assert.Contains(rejected, v => !v.Supported);
            Assert.Equal(1 + rejected.Count(v => !v.Supported), pair.Severity);
            Assert.NotNull(pair.RefChosenLogp);
        }
    }

    sealed class TrlRowWithoutReference
    {
        [System.Text.Json.Serialization.JsonPropertyName("prompt")] public string Prompt { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("chosen")] public string Chosen { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("rejected")] public string Rejected { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("images")] public List<string> Images { get; set; } = [];
    }

    sealed record Conversation(string Id, string Image, string Human, string Answer);

    List<Conversation> DescribeConversations()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(workspace.Raw, "mine", "conversations.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => new Conversation(e.GetProperty("id").GetString()!, e.GetProperty("image").GetString()!,
                e.GetProperty("conversations")[0].GetProperty("value").GetString()!, e.GetProperty("conversations")[1].GetProperty("value").GetString()!))
            .Where(c => c.Id.EndsWith("-describe", StringComparison.Ordinal)).ToList();
    }

    /// <summary>A TRL-style file with no reference columns: prompt (without the image tag), chosen = the row's answer, rejected = the next row's.</summary>
    async Task<string> WriteTrlFile(string dir, IReadOnlyList<Conversation> rows)
    {
        var trl = rows.Select((c, i) => new TrlRowWithoutReference
        {
            Prompt = c.Human.Replace("<image>\n", ""), Chosen = c.Answer, Rejected = rows[(i + 1) % rows.Count].Answer, Images = [c.Image],
        }).Where(r => r.Chosen != r.Rejected).ToList();
        string file = Path.Combine(dir, "trl.parquet");
        await using var stream = File.Create(file);
        await ParquetSerializer.SerializeAsync(trl, stream);
        return file;
    }

    [Fact]
    public async Task Reference_fills_teacher_log_probs_of_imported_pairs_that_then_train()
    {
        string dir = NewDir("reference"), db = Path.Combine(dir, "pairs.sqlite"), imageRoot = Path.Combine(workspace.Raw, "mine");
        var rows = DescribeConversations();
        string file = await WriteTrlFile(dir, rows);
        DemoWorkspace.Llavamod("pairs", "import", "--db", db, file);
        var missing = Assert.Throws<LlavaModException>(() => PairBatches.Load(db, "train", imageRoot));
        Assert.Contains("has no reference (teacher) log-probs", missing.Message);
        Assert.Contains("llavamod pairs reference", missing.Message);
        Assert.Contains(db, missing.Message);

        DemoWorkspace.Llavamod("pairs", "reference", "--db", db, "--teacher", workspace.Teacher, "--image-root", imageRoot, "--batch-size", "3", "--threads", "1");

        // Independent reference: the ETL's token ids of each conversation (mine shards), and SequenceScorer on the teacher, one pair at a time.
        var shardRows = DatasetManifest.Load(workspace.MineShards).Shards
            .SelectMany(s => ShardReader.ReadRows(Path.Combine(workspace.MineShards, s.File)).ToBlockingEnumerable())
            .ToDictionary(r => r.Id!);
        var byAnswer = rows.GroupBy(r => r.Answer).ToDictionary(g => g.Key, g => SupervisedExample.FromShardRow(shardRows[g.First().Id]));
        using var teacher = Checkpoint.Load(workspace.Teacher, torch.ScalarType.Float32, torch.CPU);
        List<PreferencePair> stored;
        using (var store = PairStore.Open(db, readOnly: true)) stored = store.EnumerateTrainingPairs("train").ToList();
        Assert.NotEmpty(stored);
        foreach (var pair in stored)
        {
            var example = byAnswer[pair.ChosenText];
            long[] promptIds = example.PromptOnly().InputIds;
            long[] Answer(string text) => byAnswer[text].Labels.Where(l => l != LlavaBatch.IgnoreIndex).ToArray();
            Assert.Equal(promptIds, pair.PromptTokenIds!.Select(i => (long)i));
            Assert.Equal(Answer(pair.ChosenText), pair.ChosenTokenIds!.Select(i => (long)i));
            Assert.Equal(Answer(pair.RejectedText), pair.RejectedTokenIds!.Select(i => (long)i));
            byte[] image = File.ReadAllBytes(Path.Combine(imageRoot, pair.ImagePath!));
            var prompt = new SupervisedExample("p", promptIds, promptIds.Select(_ => LlavaBatch.IgnoreIndex).ToArray(), image);
            double Direct(string text) => SequenceScorer.LogProbs(teacher, LlavaBatch.FromExamples([prompt], teacher.Config.Vision, torch.CPU), [Answer(text)])[0].Sum;
            Assert.Equal(Direct(pair.ChosenText), pair.RefChosenLogp!.Value, 3);
            Assert.Equal(Direct(pair.RejectedText), pair.RefRejectedLogp!.Value, 3);
        }

        // A second run finds nothing to do and changes nothing.
        string Snapshot()
        {
            using var raw = Raw(db);
            return string.Join('\n', raw.Query<string>(
                """
                SELECT p.id || ' ' || p.ref_chosen_logp || ' ' || p.ref_chosen_tokens || ' ' || p.ref_rejected_logp || ' ' || p.ref_rejected_tokens
                       || ' ' || p.length || ' ' || hex(c.token_ids) || ' ' || hex(r.token_ids) || ' ' || hex(pr.token_ids)
                FROM pairs p JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id JOIN prompts pr ON pr.id = p.prompt_id
                ORDER BY p.id
                """));
        }
        string before = Snapshot();
        var again = ReferencePass.Run(new ReferenceOptions { Db = db, Teacher = workspace.Teacher, ImageRoot = imageRoot, Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1) });
        Assert.Equal(new ReferenceSummary(0, 0, 0), again);
        Assert.Equal(before, Snapshot());

        // The imported pairs now train; the policy starts as the reference, so the first rewards are 0.
        string pd = Path.Combine(dir, "pd");
        StageRunner.Run(StageConfig.Load(null,
        [
            "stage=pd", $"model={workspace.Teacher}", $"out={pd}", $"pairs={db}", $"image_root={imageRoot}",
            "batch_size=2", "max_steps=2", "epochs=10", "lr=1e-3", "warmup_ratio=0", "threads=1", "log_every=1",
        ]), resume: false, _ => { });
        var metrics = MetricsLog.Read(Path.Combine(pd, "metrics.jsonl")).ToList();
        Assert.Equal(2, metrics.Count);
        Assert.True(Math.Abs(metrics[0].Values["reward_margin"]) < 1e-3, $"margin {metrics[0].Values["reward_margin"]}");
    }

    [Fact]
    public async Task Reference_with_data_shards_scores_the_stored_images_and_a_missing_image_stops_it_naming_the_pair()
    {
        string dir = NewDir("reference-shards"), db = Path.Combine(dir, "pairs.sqlite"), nowhere = Path.Combine(dir, "no-such-folder");
        DemoWorkspace.Llavamod("pairs", "import", "--db", db, await WriteTrlFile(dir, DescribeConversations().Take(5).ToList()));
        var summary = ReferencePass.Run(new ReferenceOptions { Db = db, Teacher = workspace.Teacher, Shards = workspace.MineShards, ImageRoot = nowhere, PairsPerBatch = 2, Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1) });
        Assert.True(summary.ReferencesFilled > 0);

        // Independent reference: each pair's prompt scored with the bytes of the first shard row stored from its image path.
        var shardImages = DatasetManifest.Load(workspace.MineShards).Shards
            .SelectMany(s => ShardReader.ReadRows(Path.Combine(workspace.MineShards, s.File)).ToBlockingEnumerable())
            .GroupBy(r => r.Image!.Path!).ToDictionary(g => g.Key, g => g.First().Image!.Bytes!);
        using var teacher = Checkpoint.Load(workspace.Teacher, torch.ScalarType.Float32, torch.CPU);
        using (var store = PairStore.Open(db, readOnly: true))
            foreach (var pair in store.EnumerateTrainingPairs("train"))
            {
                long[] prompt = pair.PromptTokenIds!.Select(i => (long)i).ToArray();
                var example = new SupervisedExample("p", prompt, prompt.Select(_ => LlavaBatch.IgnoreIndex).ToArray(), shardImages[pair.ImagePath!]);
                double Direct(int[] answer) => SequenceScorer.LogProbs(teacher, LlavaBatch.FromExamples([example], teacher.Config.Vision, torch.CPU),
                    [answer.Select(i => (long)i).ToArray()])[0].Sum;
                Assert.Equal(Direct(pair.ChosenTokenIds!), pair.RefChosenLogp!.Value, 3);
                Assert.Equal(Direct(pair.RejectedTokenIds!), pair.RefRejectedLogp!.Value, 3);
            }

        // A pair whose image is nowhere stops the pass before any pair is scored, naming the pair.
        string other = Path.Combine(dir, "missing.sqlite");
        var rows = DescribeConversations().Take(3).ToList();
        rows[1] = rows[1] with { Image = "nowhere.jpg" };
        DemoWorkspace.Llavamod("pairs", "import", "--db", other, await WriteTrlFile(NewDir("missing"), rows));
        long missing;
        using (var store = PairStore.Open(other, readOnly: true)) missing = store.EnumerateTrainingPairs("train").Single(p => p.ImagePath == "nowhere.jpg").PairId;
        var e = Assert.Throws<LlavaModException>(() => ReferencePass.Run(new ReferenceOptions
        {
            Db = other, Teacher = workspace.Teacher, Shards = workspace.MineShards, ImageRoot = nowhere, PairsPerBatch = 1, Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1),
        }));
        Assert.Contains($"row {missing}: image nowhere.jpg not found", e.Message);
        using var check = PairStore.Open(other, readOnly: true);
        Assert.All(check.EnumerateTrainingPairs("train"), p => Assert.Null(p.RefChosenLogp));
    }

    [Fact]
    public async Task Reference_refuses_a_teacher_whose_tokenizer_differs_from_the_recorded_one()
    {
        string dir = NewDir("refuse"), db = Path.Combine(dir, "pairs.sqlite");
        string file = await WriteTrlFile(dir, DescribeConversations());
        DemoWorkspace.Llavamod("pairs", "import", "--db", db, file, "--run", "other-tokenizer");
        using (var store = PairStore.Open(db)) store.RecordRunTokenizer(1, new string('0', 64));
        var e = Assert.Throws<LlavaModException>(() => ReferencePass.Run(new ReferenceOptions
        {
            Db = db, Teacher = workspace.Teacher, ImageRoot = Path.Combine(workspace.Raw, "mine"), Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1),
        }));
        Assert.Contains("other-tokenizer", e.Message);
        Assert.Contains("tokenizer 000000000000", e.Message);
        using var check = PairStore.Open(db, readOnly: true);
        Assert.All(check.EnumerateTrainingPairs("train"), p => Assert.Null(p.RefChosenLogp));
    }
}
