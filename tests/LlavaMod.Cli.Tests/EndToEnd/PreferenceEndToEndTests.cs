using LlavaMod.Data.Shards;
using LlavaMod.Preferences;
using LlavaMod.Training.Data;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Stages;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>The teacher pass and the pd stage through the real verbs: sample → mine → pd, and the chosen-only control.</summary>
public class PreferenceEndToEndTests(DemoWorkspace workspace) : IClassFixture<DemoWorkspace>
{
    [Fact]
    public void Mined_pairs_carry_reference_log_probs_and_train_the_pd_stage()
    {
        string dir = Path.Combine(workspace.Root, "pd-" + Guid.NewGuid().ToString("N")[..6]);
        string samples = Path.Combine(dir, "samples"), db = Path.Combine(dir, "pairs.sqlite");
        DemoWorkspace.Llavamod("teacher", "sample", "--model", workspace.Teacher, "--data", workspace.MineShards, "--out", samples,
            "--samples", "6", "--temperature", "1.5", "--max-new-tokens", "12", "--only-ids-ending-with", "-describe", "--threads", "1");
        DemoWorkspace.Llavamod("pairs", "mine", "--db", db, "--samples", samples, "--teacher", workspace.Teacher,
            "--ground-truth", Path.Combine(workspace.Raw, "mine"), "--val-fraction", "0");

        using (var store = PairStore.Open(db, readOnly: true))
        {
            var pairs = store.EnumerateTrainingPairs("train").ToList();
            Assert.NotEmpty(pairs);
            Assert.All(pairs, p =>
            {
                Assert.NotNull(p.RefChosenLogp);
                Assert.NotNull(p.RefRejectedLogp);
                Assert.True(p.RefChosenLogp < 0 && p.RefRejectedLogp < 0);
                Assert.NotEqual(p.ChosenText, p.RejectedText);
                // the stored prompt text is the user question; the token ids keep the rendered prompt
                Assert.Equal("Describe the image.", p.PromptText);
                Assert.Contains(-200, p.PromptTokenIds!);
            });
        }

        StageConfig Pd(string output, params string[] extra) => StageConfig.Load(null,
        [
            "stage=pd", $"model={workspace.Teacher}", $"out={output}", $"pairs={db}", $"image_root={Path.Combine(workspace.Raw, "mine")}",
            "batch_size=2", "max_steps=3", "epochs=10", "lr=1e-3", "warmup_ratio=0", "threads=1", "log_every=1", .. extra,
        ]);
        // A policy whose tokenizer differs from the one the pairs were tokenized with is refused before any step.
        string swapped = workspace.TeacherWithSwappedTokenizer(Path.Combine(dir, "swapped-tokenizer"), withWeights: true);
        var refused = Assert.Throws<LlavaMod.Core.LlavaModException>(() =>
            StageRunner.Run(Pd(Path.Combine(dir, "swapped-pd")) with { Model = swapped }, resume: false, _ => { }));
        Assert.Contains($"{db}: run 'mined' was tokenized with another tokenizer", refused.Message);
        Assert.False(File.Exists(Path.Combine(dir, "swapped-pd", "metrics.jsonl")));

        string pd = Path.Combine(dir, "pd");
        StageRunner.Run(Pd(pd, "loss.preference=sigmoid", "loss.rpo_weight=1"), resume: false, _ => { });
        var rows = MetricsLog.Read(Path.Combine(pd, "metrics.jsonl")).ToList();
        Assert.Equal(3, rows.Count);
        // The policy starts as the reference (same weights), so the first step's rewards are 0 up to float noise.
        Assert.True(Math.Abs(rows[0].Values["reward_margin"]) < 1e-3, $"margin {rows[0].Values["reward_margin"]}");
        Assert.Equal(Math.Log(2), rows[0].Values["preference"], 3);
        Assert.True(File.Exists(Path.Combine(pd, "model", "config.json")));

        // With the data shards given, images are the shard rows' bytes (as the ETL stored them), not files:
        // the control runs with an image root that does not exist.
        var shardImages = DatasetManifest.Load(workspace.MineShards).Shards
            .SelectMany(s => ShardReader.ReadRows(Path.Combine(workspace.MineShards, s.File)).ToBlockingEnumerable())
            .ToDictionary(r => r.Key, r => r.Image!.Bytes);
        using (var store = PairStore.Open(db, readOnly: true))
        {
            var keys = store.EnumerateTrainingPairs("train").ToDictionary(p => p.PairId, p => p.ImageKey!);
            var loaded = PairBatches.Load(db, "train", imageRoot: Path.Combine(dir, "no-such-folder"), shards: [workspace.MineShards]);
            Assert.All(loaded.Pairs, p => Assert.NotNull(p.Image?.ShardRow));
            var bytes = loaded.Images.Read(loaded.Pairs.Select(p => p.Image).ToList());
            Assert.All(loaded.Pairs.Zip(bytes), x => Assert.Equal(shardImages[keys[x.First.PairId]], x.Second));
            loaded.Images.Dispose();
        }
        // Overfitting the handful of pairs: the policy learns to prefer the chosen responses over the reference.
        string overfit = Path.Combine(dir, "overfit");
        StageRunner.Run(Pd(overfit, "loss.preference=sigmoid", "loss.rpo_weight=1", "max_steps=30", "lr=3e-3"), resume: false, _ => { });
        var curve = MetricsLog.Read(Path.Combine(overfit, "metrics.jsonl")).ToList();
        double lateMargin = curve[^5..].Average(r => r.Values["reward_margin"]), lateAccuracy = curve[^5..].Average(r => r.Values["reward_accuracy"]);
        Assert.True(lateMargin > 0.05, $"reward margin after 30 steps {lateMargin:F4}");
        Assert.True(lateAccuracy >= 0.9, $"preference accuracy after 30 steps {lateAccuracy:F2}");
        Assert.True(curve[^5..].Average(r => r.Values["preference"]) < Math.Log(2) - 0.02, "the DPO loss falls below log 2");

        string control = Path.Combine(dir, "control");
        StageRunner.Run(Pd(control, "loss.preference_weight=0", "loss.rpo_weight=1", $"image_root={Path.Combine(dir, "no-such-folder")}",
            $"data=[\"{workspace.MineShards}\"]"), resume: false, _ => { });
        var first = MetricsLog.Read(Path.Combine(control, "metrics.jsonl")).First();
        Assert.Equal(first.Values["chosen_nll"], first.Values["loss"], 5);

        // pd resumes exactly, images read from the shards: a run stopped at step 5 and resumed from its
        // step-3 checkpoint logs what an uninterrupted run logs.
        string[] fromShards = [$"image_root={Path.Combine(dir, "no-such-folder")}", $"data=[\"{workspace.MineShards}\"]", "max_steps=6", "checkpoint_every=3"];
        string straight = Path.Combine(dir, "straight"), interrupted = Path.Combine(dir, "interrupted");
        StageRunner.Run(Pd(straight, fromShards), resume: false, _ => { });
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            StageRunner.Run(Pd(interrupted, fromShards), resume: false, line => { if (line.StartsWith("step 5/")) cancel.Cancel(); }, cancel.Token));
        StageRunner.Run(Pd(interrupted, fromShards), resume: true, _ => { });
        string[] logged = ["loss", "preference", "chosen_nll", "reward_chosen", "reward_rejected", "tokens", "epoch"];
        double[][] Logged(string output) => MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).Select(r => logged.Select(k => r.Values[k]).ToArray()).ToArray();
        Assert.Equal(6, Logged(straight).Length);
        Assert.Equal(Logged(straight), Logged(interrupted));
    }
}
