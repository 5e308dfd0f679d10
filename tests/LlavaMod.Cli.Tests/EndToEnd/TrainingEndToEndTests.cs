using LlavaMod.Core;
using LlavaMod.Models;
using LlavaMod.Models.IO;
using LlavaMod.LogitCache;
using LlavaMod.Training.Metrics;
using LlavaMod.Training.Stages;
using TorchSharp;

namespace LlavaMod.Cli.Tests.EndToEnd;

public class TrainingEndToEndTests(DemoWorkspace workspace) : IClassFixture<DemoWorkspace>
{
    string Out(string name) => Path.Combine(workspace.Root, name + "-" + Guid.NewGuid().ToString("N")[..6]);

    StageConfig Sft(string output, int steps, int checkpointEvery = 1000, string precision = "fp32", int threads = 1, int batchSize = 12) => StageConfig.Load(null,
    [
        "stage=sft", $"model={workspace.Teacher}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]",
        $"max_steps={steps}", $"batch_size={batchSize}", "lr=5e-3", "warmup_ratio=0", $"threads={threads}", "log_every=1", $"checkpoint_every={checkpointEvery}", "epochs=20",
        $"precision={precision}",
    ]);

    static double[] Losses(string output) => MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).Select(r => r.Values["loss"]).ToArray();

    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    public void Sft_lowers_the_loss_on_a_small_corpus_and_leaves_the_frozen_vision_tower_untouched(string precision)
    {
        string output = Out("sft-" + precision);
        var summary = StageRunner.Run(Sft(output, steps: 60, precision: precision), resume: false, _ => { });
        var losses = Losses(output);
        Assert.Equal(60, losses.Length);
        Assert.True(losses[^5..].Average() < 0.6 * losses[..5].Average(), $"loss {losses[0]:F3} → {losses[^1]:F3}");

        var before = SafeTensorsFolder.Open(workspace.Teacher);
        var after = SafeTensorsFolder.Open(summary.ModelFolder);
        string towerWeight = "model.image_tower.image_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight";
        string lmWeight = "model.layers.0.self_attn.q_proj.weight";
        using var t0 = before.Read(towerWeight);
        using var t1 = after.Read(towerWeight);
        Assert.True(t0.eq(t1).all().item<bool>(), "the vision tower is frozen in sft");
        using var l0 = before.Read(lmWeight);
        using var l1 = after.Read(lmWeight);
        Assert.False(l0.eq(l1).all().item<bool>(), "the language model trains in sft");
        Assert.Equal(torch.ScalarType.Float32, l1.dtype); // bf16 mixed precision keeps fp32 master weights in the checkpoint
    }

    [Fact]
    public void Bf16_mixed_precision_follows_the_fp32_loss_curve_on_the_same_batches()
    {
        string fp32 = Out("curve-fp32"), bf16 = Out("curve-bf16");
        StageRunner.Run(Sft(fp32, steps: 8), resume: false, _ => { });
        StageRunner.Run(Sft(bf16, steps: 8, precision: "bf16"), resume: false, _ => { });
        double[] a = Losses(fp32), b = Losses(bf16);
        Assert.True(Math.Abs(a[0] - b[0]) <= 0.01 * a[0], $"first-step loss fp32 {a[0]:F4} vs bf16 {b[0]:F4}: the same weights and batch should agree within 1 %");
        Assert.NotEqual(a[0], b[0]); // bf16 really computed something else
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= 0.05 * a[i] + 0.02, $"step {i + 1}: loss fp32 {a[i]:F4} vs bf16 {b[i]:F4}");
    }

    [Fact]
    public void Sft_trains_the_same_weights_at_one_and_two_threads()
    {
        // padded batches run on their real positions, rounded to PackedTokens.RowMultiple rows: without the rounding
        // MKL's split of the weight gradients' row sums made the weights depend on the thread count; and fp32 products
        // go through oneDNN's convolution at any thread count only because OneDnnMatmul dilates it (undilated, libtorch
        // picks its own kernel at one thread and oneDNN's at two)
        string one = Out("threads-1"), two = Out("threads-2");
        var a = StageRunner.Run(Sft(one, steps: 4, threads: 1, batchSize: 48), resume: false, _ => { });
        var b = StageRunner.Run(Sft(two, steps: 4, threads: 2, batchSize: 48), resume: false, _ => { });
        var (x, y) = (SafeTensorsFolder.Open(a.ModelFolder), SafeTensorsFolder.Open(b.ModelFolder));
        foreach (var name in x.Names)
        {
            using var p = x.Read(name);
            using var q = y.Read(name);
            Assert.True(p.eq(q).all().item<bool>(), $"{name} differs between 1 and 2 threads");
        }
    }

    [Fact]
    public void A_stopped_and_resumed_run_logs_the_same_losses_as_an_uninterrupted_one()
    {
        string straight = Out("straight");
        StageRunner.Run(Sft(straight, steps: 6, checkpointEvery: 3), resume: false, _ => { });

        string interrupted = Out("interrupted");
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            StageRunner.Run(Sft(interrupted, steps: 6, checkpointEvery: 3), resume: false, line => { if (line.StartsWith("step 5/")) cancel.Cancel(); }, cancel.Token));
        Assert.Equal(5, Losses(interrupted).Length);
        StageRunner.Run(Sft(interrupted, steps: 6, checkpointEvery: 3), resume: true, _ => { });

        Assert.Equal(Losses(straight), Losses(interrupted));
    }

    [Fact]
    public void A_resume_from_a_rewritten_starting_model_is_refused_and_the_same_bytes_resume()
    {
        string start = Out("start");
        Directory.CreateDirectory(start);
        foreach (var file in Directory.GetFiles(workspace.Teacher)) File.Copy(file, Path.Combine(start, Path.GetFileName(file)));
        string output = Out("rewritten");
        var config = Sft(output, steps: 4, checkpointEvery: 2) with { Model = start };
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            StageRunner.Run(config, resume: false, line => { if (line.StartsWith("step 3/")) cancel.Cancel(); }, cancel.Token));

        // what rerunning the upstream step with other settings does: same folder, other weights (one byte of the last tensor)
        string weights = Directory.GetFiles(start, "*.safetensors").Single();
        byte[] original = File.ReadAllBytes(weights);
        byte[] changed = (byte[])original.Clone();
        changed[^1] ^= 1;
        File.WriteAllBytes(weights, changed);
        var refused = Assert.Throws<LlavaModException>(() => StageRunner.Run(config, resume: true, _ => { }));
        Assert.Contains("another", refused.Message);
        Assert.Contains("step-00000002", refused.Message);

        File.WriteAllBytes(weights, original); // rewritten with the same bytes (a deterministic rerun): the run goes on
        var summary = StageRunner.Run(config, resume: true, _ => { });
        Assert.Equal(4, summary.Steps);
    }

    [Fact]
    public void Activation_checkpointing_logs_the_same_losses_in_sft_and_d2s_and_resumes_a_run_made_without_it()
    {
        string plain = Out("sft-plain"), checkpointed = Out("sft-checkpointed");
        StageRunner.Run(Sft(plain, steps: 4, checkpointEvery: 2), resume: false, _ => { });
        var config = Sft(checkpointed, steps: 4, checkpointEvery: 2) with { ActivationCheckpointing = true };
        StageRunner.Run(config with { MaxSteps = 2 }, resume: false, _ => { });
        StageRunner.Run(config, resume: true, _ => { }); // the setting is not part of the resume fingerprint
        Assert.Equal(Losses(plain), Losses(checkpointed));

        // d2s: upcycled MoE layers, online teacher KL + CE + the load-balancing loss through the checkpointed layers
        double[] D2s(string name, bool checkpointing)
        {
            string output = Out(name);
            var log = new List<string>();
            StageRunner.Run(StageConfig.Load(null,
            [
                "stage=d2s", $"model={workspace.Teacher}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]", $"online_teacher={workspace.Teacher}",
                "max_steps=3", "batch_size=8", "lr=3e-3", "warmup_ratio=0", "threads=1", "epochs=20", "loss.ce_weight=1", "loss.aux_weight=0.5",
                $"activation_checkpointing={checkpointing.ToString().ToLowerInvariant()}",
            ]), resume: false, log.Add);
            Assert.Equal(checkpointing, log[0].Contains("activation checkpointing"));
            var rows = MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).ToArray();
            Assert.All(rows, r => Assert.True(r.Values["aux"] > 0));
            return rows.SelectMany(r => new[] { r.Values["loss"], r.Values["aux"], r.Values["grad_norm"] }).ToArray();
        }
        Assert.Equal(D2s("d2s-plain", false), D2s("d2s-checkpointed", true));
    }

    [Fact]
    public void Bf16_d2s_with_an_online_teacher_tracks_the_fp32_run()
    {
        // bf16 matmuls with bf16 activations between them, and the fused head over the student's and the teacher's
        // chunks: the same steps' losses stay within 1 % of fp32's.
        double[] Run(string precision)
        {
            string output = Out("d2s-" + precision);
            StageRunner.Run(StageConfig.Load(null,
            [
                "stage=d2s", $"model={workspace.Teacher}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]", $"online_teacher={workspace.Teacher}",
                "max_steps=3", "batch_size=8", "lr=3e-3", "warmup_ratio=0", "threads=1", "epochs=20", "loss.ce_weight=1", "loss.aux_weight=0.01",
                $"precision={precision}",
            ]), resume: false, _ => { });
            return MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).Select(r => r.Values["loss"]).ToArray();
        }
        var (fp32, bf16) = (Run("fp32"), Run("bf16"));
        Assert.Equal(3, bf16.Length);
        Assert.NotEqual(fp32, bf16); // bf16 really ran
        for (int i = 0; i < fp32.Length; i++)
            Assert.True(Math.Abs(bf16[i] - fp32[i]) <= 0.01 * Math.Abs(fp32[i]) + 1e-3, $"step {i + 1}: bf16 loss {bf16[i]} vs fp32 {fp32[i]}");
    }

    [Fact]
    public void D2s_overfits_a_few_rows_training_only_experts_router_and_projector()
    {
        string output = Out("d2s-overfit");
        var summary = StageRunner.Run(StageConfig.Load(null,
        [
            "stage=d2s", $"model={workspace.Teacher}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]", $"online_teacher={workspace.Teacher}",
            "max_steps=40", "batch_size=8", "lr=5e-3", "warmup_ratio=0", "threads=1", "epochs=100", "loss.ce_weight=1", "loss.aux_weight=0.01",
        ]), resume: false, _ => { });
        var rows = MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).ToArray();
        double early = rows[..5].Average(r => r.Values["ce"]), late = rows[^5..].Average(r => r.Values["ce"]);
        Assert.True(late < 0.7 * early, $"d2s cross-entropy {early:F3} → {late:F3}");

        var before = SafeTensorsFolder.Open(workspace.Teacher);
        var after = SafeTensorsFolder.Open(summary.ModelFolder);
        foreach (string frozen in new[] { "model.layers.0.self_attn.q_proj.weight", "model.embed_tokens.weight", "model.norm.weight",
                     "model.image_tower.image_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight" })
        {
            using var t0 = before.Read(frozen);
            using var t1 = after.Read(frozen);
            Assert.True(t0.eq(t1).all().item<bool>(), $"{frozen} is frozen in d2s");
        }
        // layer 0 is upcycled: its experts start as copies of the dense MLP and train
        using var dense = before.Read("model.layers.0.mlp.gate_proj.weight");
        using var expert = after.Read("model.layers.0.mlp.deepspeed_moe.experts.deepspeed_experts.0.gate_proj.weight");
        Assert.False(dense.eq(expert).all().item<bool>(), "the experts train in d2s");
        using var projectorBefore = before.Read("model.mm_projector.image_spatial_proj.0.weight");
        using var projectorAfter = after.Read("model.mm_projector.image_spatial_proj.0.weight");
        Assert.False(projectorBefore.eq(projectorAfter).all().item<bool>(), "the projector trains in d2s");
    }

    [Fact]
    public void A_bf16_teacher_pass_records_its_precision_covers_the_fp32_mass_and_is_not_mixed_with_fp32_shards()
    {
        string fp32 = Out("cache-fp32"), bf16 = Out("cache-bf16");
        string[] Args(string output, string precision) =>
            ["teacher", "cache-logits", "--teacher", workspace.Teacher, "--data", workspace.TrainShards, "--out", output, "--k", "8", "--threads", "1", "--precision", precision];
        DemoWorkspace.Llavamod(Args(fp32, "fp32"));
        DemoWorkspace.Llavamod(Args(bf16, "bf16"));
        var a = LogitCacheManifest.Load(fp32);
        var b = LogitCacheManifest.Load(bf16);
        Assert.Equal(("fp32", "bf16"), (a.Precision, b.Precision));
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.True(Math.Abs(a.MeanCoveredMass - b.MeanCoveredMass) <= 0.02, $"top-8 covers {a.MeanCoveredMass:P2} in fp32, {b.MeanCoveredMass:P2} in bf16");
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() => DemoWorkspace.Llavamod(Args(bf16, "fp32")));
        Assert.Contains("precision", e.Message);
    }

    [Fact]
    public void Cached_teacher_mimic_trains_a_student_towards_the_teacher()
    {
        string cache = Out("cache");
        DemoWorkspace.Llavamod("teacher", "cache-logits", "--teacher", workspace.Teacher, "--data", workspace.TrainShards, "--out", cache, "--k", "8", "--threads", "1");
        var manifest = LogitCacheManifest.Load(cache);
        Assert.Equal(8, manifest.K);
        Assert.True(manifest.Tokens > 0);

        string student = Out("student-init");
        DemoWorkspace.Llavamod("model", "init", "--preset", "demo-student", "--out", student, "--seed", "2", "--tokenizer", workspace.TokenizerFolder,
            "--vocab-subset-from", workspace.TrainShards, "--vocab-subset-from", workspace.MineShards); // the teacher's subset
        string output = Out("mimic");
        StageRunner.Run(StageConfig.Load(null,
        [
            "stage=mimic", $"model={student}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]", $"logit_cache={cache}",
            "max_steps=20", "batch_size=8", "lr=3e-3", "warmup_ratio=0", "threads=1", "epochs=20",
        ]), resume: false, _ => { });
        var kl = MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).Select(r => r.Values["kl"]).ToArray();
        Assert.True(kl[^3..].Average() < 0.7 * kl[..3].Average(), $"kl {kl[0]:F3} → {kl[^1]:F3}");
    }

    [Fact]
    public void Online_teacher_mimic_equals_the_cached_kl_when_the_cache_keeps_every_token()
    {
        int subsetSize = VocabSubset.LoadIfPresent(workspace.Teacher)!.Count;
        string cache = Out("cache-all");
        DemoWorkspace.Llavamod("teacher", "cache-logits", "--teacher", workspace.Teacher, "--data", workspace.TrainShards, "--out", cache, "--k", subsetSize.ToString(), "--threads", "1");
        string student = Out("student-same-subset");
        DemoWorkspace.Llavamod("model", "init", "--preset", "demo-student", "--out", student, "--seed", "2", "--tokenizer", workspace.TokenizerFolder,
            "--vocab-subset-from", workspace.TrainShards, "--vocab-subset-from", workspace.MineShards);
        double FirstKl(string name, string teacherSetting)
        {
            string output = Out(name);
            StageRunner.Run(StageConfig.Load(null,
            [
                "stage=mimic", $"model={student}", $"out={output}", $"data=[\"{workspace.TrainShards}\"]", teacherSetting,
                "max_steps=2", "batch_size=8", "lr=3e-3", "warmup_ratio=0", "threads=1", "epochs=20",
            ]), resume: false, _ => { });
            return MetricsLog.Read(Path.Combine(output, "metrics.jsonl")).First().Values["kl"];
        }
        double cached = FirstKl("mimic-cached-all", $"logit_cache={cache}");
        double online = FirstKl("mimic-online", $"online_teacher={workspace.Teacher}");
        Assert.True(online > 0.1, $"online kl {online}");
        Assert.Equal(cached, online, 0.02 * online); // the cache quantises log-probs; nothing is left in its tail

        string otherSubset = Out("student-other-subset");
        DemoWorkspace.Llavamod("model", "init", "--preset", "demo-student", "--out", otherSubset, "--seed", "2", "--tokenizer", workspace.TokenizerFolder, "--vocab-subset-from", workspace.TrainShards);
        var error = Assert.Throws<LlavaModException>(() => StageRunner.Run(StageConfig.Load(null,
        [
            "stage=mimic", $"model={otherSubset}", $"out={Out("mimic-refused")}", $"data=[\"{workspace.TrainShards}\"]", $"online_teacher={workspace.Teacher}",
            "max_steps=1", "batch_size=8", "threads=1",
        ]), resume: false, _ => { }));
        Assert.Contains("vocabulary", error.Message);
    }
}
