using LlavaMod.Core;

namespace LlavaMod.Training.Stages;

/// <summary>The training stages of LLaVA-MoD (docs/method.md §3) plus the demo's vision pre-training.</summary>
public enum StageKind
{
    /// <summary>Cross-entropy on assistant tokens (adaptor init; the demo teacher's training).</summary>
    Sft,
    /// <summary>Dense-to-dense mimic: KL to the cached (or online) teacher.</summary>
    Mimic,
    /// <summary>Dense-to-sparse: upcycle to MoE, train experts + router + projector on mimic + CE + aux.</summary>
    D2s,
    /// <summary>Preference distillation: DPO family with the teacher as reference.</summary>
    Pd,
    /// <summary>Pre-train the vision tower on per-patch labels (a plugged-in <see cref="IPatchLabelTask"/>; the demo's scene cells).</summary>
    VisionPretrain,
}

/// <summary>How the cross-entropy averages over a batch's supervised tokens.</summary>
public enum CeAveraging
{
    /// <summary>Over all supervised tokens of the batch (LLaVA, Hugging Face).</summary>
    Token,
    /// <summary>Each row's mean first, then the mean over rows: a one-word answer weighs as much as a long description.</summary>
    Row,
}

/// <summary>Loss weights and settings; which ones apply depends on the stage.</summary>
public sealed record LossConfig
{
    public double KlWeight { get; init; } = 1.0;
    public double CeWeight { get; init; }
    public double AuxWeight { get; init; } = 0.01;
    public double Temperature { get; init; } = 1.0;
    /// <summary>token (LLaVA) or row, see <see cref="CeAveraging"/>.</summary>
    public CeAveraging CeAverage { get; init; } = CeAveraging.Token;
    /// <summary>kto_pair (LLaVA-MoD's default), sigmoid (DPO), hsa_dpo, ipo (on mean token log-probs, as TRL), hinge.</summary>
    public Losses.PreferenceLossType Preference { get; init; } = Losses.PreferenceLossType.KtoPair;
    public double Beta { get; init; } = 0.1;
    /// <summary>Conservative DPO's ε (TRL's label_smoothing; sigmoid only): 0 = plain DPO, at most 0.5.</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Weight of the length-normalised NLL on the chosen response (RPO); 0 = off.</summary>
    public double RpoWeight { get; init; }
    /// <summary>Weight of the preference term (0 with rpo_weight 1 = the chosen-only control run).</summary>
    public double PreferenceWeight { get; init; } = 1.0;
}

/// <summary>
/// One stage's configuration (a JSON file, every field overridable with --set name=value).
/// Defaults follow LLaVA-MoD (docs/method.md §3): AdamW (0.9, 0.98), cosine, 3 % warm-up, 1 epoch.
/// </summary>
public sealed record StageConfig
{
    public StageKind Stage { get; init; } = StageKind.Sft;
    /// <summary>Model folder to start from (a checkpoint of the model stack).</summary>
    public string Model { get; init; } = "";
    /// <summary>Output folder: checkpoints, metrics.jsonl, plots, final model.</summary>
    public string Out { get; init; } = "";
    /// <summary>Data shard folder(s) (dataset manifests) to train on.</summary>
    public List<string> Data { get; init; } = new();
    /// <summary>Logit cache folder aligned with <see cref="Data"/> (mimic, d2s).</summary>
    public string? LogitCache { get; init; }
    /// <summary>Teacher model folder for online mimic (mimic/d2s without a logit cache): the teacher runs in every step, full-vocabulary KL.</summary>
    public string? OnlineTeacher { get; init; }
    /// <summary>Pair index (SQLite) of the pd stage; its pairs must carry reference log-probs.</summary>
    public string? Pairs { get; init; }
    public string PairsSplit { get; init; } = "train";
    /// <summary>Folder relative image paths of pairs resolve against (pd); with 'data' set, the pd stage takes the pairs' images from those shards first (the images as stored by the ETL).</summary>
    public string? ImageRoot { get; init; }

    public string Device { get; init; } = "auto";
    public int Threads { get; init; }
    /// <summary>"fp32", or "bf16" mixed precision: bf16 matmuls and attention on fp32 master weights; norms, router,
    /// softmax and losses in fp32; optimizer state and checkpoints fp32 (see <see cref="Models.Autocast"/>).</summary>
    public string Precision { get; init; } = "fp32";
    /// <summary><see cref="Precision"/> parsed.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Models.ComputePrecision ComputePrecision => Models.ComputePrecisions.Parse(Precision, "precision");
    /// <summary><see cref="Device"/>, <see cref="Threads"/> and <see cref="Precision"/> parsed.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Models.Runtime.RuntimeOptions Runtime => new(Models.Runtime.DeviceRequest.Parse(Device, "device"), Threads, ComputePrecision);
    public int Seed { get; init; } = 42;
    /// <summary>Activation checkpointing of the language model's decoder layers: each layer keeps only its input in the
    /// forward and recomputes its activations in backward, for about one more forward pass per step and far less
    /// activation memory. Loss and gradients are the same (see <see cref="Models.Qwen2Model.ActivationCheckpointing"/>);
    /// like device and threads it is left out of the resume fingerprint. Omitted from JSON when false.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool ActivationCheckpointing { get; init; }

    public int Epochs { get; init; } = 1;
    /// <summary>Stops after this many optimizer steps (0 = the epochs decide).</summary>
    public int MaxSteps { get; init; }
    public int BatchSize { get; init; } = 8;
    public int GradAccumulation { get; init; } = 1;
    public double Lr { get; init; } = 2e-5;
    public double WarmupRatio { get; init; } = 0.03;
    public double WeightDecay { get; init; }
    public double[] AdamBetas { get; init; } = [0.9, 0.98];
    public double MaxGradNorm { get; init; } = 1.0;
    public int ShardsPerBuffer { get; init; } = 4;
    /// <summary>Batches per length-sorted mega-batch (HF length grouping); 1 = plain shuffled batches. Length-grouped
    /// batches hold rows of similar length, which on short mixed-task data means batches of one task at a time.</summary>
    public int LengthGroupBatches { get; init; } = 16;

    /// <summary>Parameter-name patterns (globs on Hugging Face names) that train; the rest are frozen. Empty = the stage's default.</summary>
    public List<string> Trainable { get; init; } = new();
    public LossConfig Loss { get; init; } = new();
    /// <summary>d2s: how the dense student is upcycled. Defaults: 4 experts, top-2, every other layer from 0,
    /// capacity factor 1.5 in training and 2.0 in evaluation, min capacity 4 (the issue's; LLaVA-MoD's code uses 1.0 / 0).</summary>
    public Models.MoeConfig Moe { get; init; } = new() { CapacityFactor = 1.5, EvalCapacityFactor = 2.0, MinCapacity = 4 };

    public int LogEvery { get; init; } = 10;
    public int CheckpointEvery { get; init; } = 200;

    /// <summary>File name of the resolved configuration a stage writes into its output folder.</summary>
    public const string ResolvedFileName = "config.json";

    /// <summary>This configuration with every key the config accepts, unset ones as null (false for flags),
    /// nested as in the file: what <c>OUT/config.json</c> holds, readable again with <c>--config</c>.</summary>
    public System.Text.Json.Nodes.JsonObject ToResolvedJson()
    {
        System.Text.Json.Nodes.JsonObject Fill(System.Text.Json.Nodes.JsonObject? values, Type type)
        {
            var result = new System.Text.Json.Nodes.JsonObject();
            foreach (var property in ConfigJson.Options.GetTypeInfo(type).Properties.Where(p => p.Set is not null))
            {
                var value = values?[property.Name];
                result[property.Name] = value is System.Text.Json.Nodes.JsonObject nested
                    && ConfigJson.Options.GetTypeInfo(property.PropertyType).Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object
                    ? Fill(nested, property.PropertyType)
                    : value?.DeepClone() ?? (property.PropertyType == typeof(bool) ? false : null);
            }
            return result;
        }
        return Fill(System.Text.Json.Nodes.JsonNode.Parse(Json.Serialize(this))!.AsObject(), typeof(StageConfig));
    }

    /// <summary>Writes <see cref="ToResolvedJson"/> to <paramref name="folder"/>/config.json.</summary>
    public void WriteResolved(string folder)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, ResolvedFileName), ToResolvedJson().ToJsonString(Json.Options) + "\n");
    }

    /// <summary>Every key a stage config accepts ("loss.beta" for nested ones) with its default as JSON, in
    /// declaration order: what <c>train --help</c> lists.</summary>
    public static IReadOnlyList<(string Key, string Default)> FieldDefaults()
    {
        var list = new List<(string, string)>();
        void Walk(System.Text.Json.Nodes.JsonObject node, string prefix)
        {
            foreach (var (key, value) in node)
                if (value is System.Text.Json.Nodes.JsonObject nested) Walk(nested, prefix + key + ".");
                else list.Add((prefix + key, value?.ToJsonString(Json.Compact) ?? "null"));
        }
        Walk(new StageConfig().ToResolvedJson(), "");
        return list;
    }

    public static StageConfig Load(string? path, IEnumerable<string> overrides)
    {
        var config = JsonOverrides.Load<StageConfig>(path, overrides);
        config.Validate(path ?? "command line");
        return config;
    }

    public void Validate(string source)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw LlavaModException.ForFile(source, what);
        }
        Require(Model.Length > 0, "'model' is required: the folder of the model to start from");
        Require(Out.Length > 0, "'out' is required: the folder for checkpoints and logs");
        Require(BatchSize >= 1 && GradAccumulation >= 1, "batch_size and grad_accumulation must be ≥ 1");
        Require(Lr > 0, $"lr must be > 0 (got {Lr})");
        Require(Epochs >= 1, "epochs must be ≥ 1");
        Require(ShardsPerBuffer >= 1 && LengthGroupBatches >= 1, "shards_per_buffer and length_group_batches must be ≥ 1");
        Require(LogEvery >= 1 && CheckpointEvery >= 1, "log_every and checkpoint_every must be ≥ 1");
        Require(MaxGradNorm > 0, "max_grad_norm must be > 0");
        Require(MaxSteps >= 0 && Threads >= 0, "max_steps and threads must be ≥ 0");
        Require(WeightDecay >= 0, $"weight_decay must be ≥ 0 (got {WeightDecay})");
        Require(AdamBetas.All(b => b is >= 0 and < 1), "adam_betas must each be in [0, 1)");
        Require(Loss.Beta > 0, $"loss.beta must be > 0 (got {Loss.Beta}); it scales the preference margin");
        Require(new[] { Loss.KlWeight, Loss.CeWeight, Loss.AuxWeight, Loss.RpoWeight, Loss.PreferenceWeight }.All(w => w >= 0),
            "loss weights (kl_weight, ce_weight, aux_weight, rpo_weight, preference_weight) must be ≥ 0");
        Require(Moe.NumExperts >= 1 && Moe.TopK >= 1 && Moe.TopK <= Moe.NumExperts, $"moe.top_k must be in [1, moe.num_experts] (got top_k {Moe.TopK}, num_experts {Moe.NumExperts})");
        Require(Moe.CapacityFactor > 0 && Moe.EvalCapacityFactor > 0 && Moe.MinCapacity >= 0 && Moe.AuxLossCoef >= 0,
            "moe.capacity_factor and moe.eval_capacity_factor must be > 0, moe.min_capacity and moe.aux_loss_coef ≥ 0");
        Require(Loss.Temperature == 1.0, "loss.temperature: only 1 is supported (the logit cache stores the teacher's log-probs at temperature 1)");
        Require(WarmupRatio is >= 0 and < 1, "warmup_ratio must be in [0, 1)");
        Require(Loss.Beta > 0, $"loss.beta {Loss.Beta}: must be > 0");
        Require(Loss.LabelSmoothing is >= 0 and <= 0.5, $"loss.label_smoothing {Loss.LabelSmoothing}: must be in [0, 0.5]");
        Require(Loss.LabelSmoothing == 0 || Loss.Preference == Losses.PreferenceLossType.Sigmoid,
            $"loss.label_smoothing applies to loss.preference sigmoid (conservative DPO) only, not {Loss.Preference}");
        Require(AdamBetas.Length == 2, "adam_betas must hold two numbers, e.g. [0.9, 0.98]");
        Require(Precision is "fp32" or "bf16", $"precision '{Precision}': expected fp32 or bf16 (bf16 mixed precision: bf16 matmuls, fp32 weights)");
        Require(Threads >= 0, $"threads {Threads}: must be ≥ 0 (0 = one per core)");
        _ = Models.Runtime.DeviceRequest.Parse(Device, $"{source}: device");
        Require(Stage == StageKind.Pd ? Pairs is not null : Data.Count > 0, Stage == StageKind.Pd
            ? "'pairs' is required for the pd stage: a pair index (.sqlite) whose pairs carry the teacher's reference log-probs (llavamod pairs mine, or pairs import then pairs reference)"
            : "'data' is required: one or more shard folders");
        Require(LogitCache is null || OnlineTeacher is null, "set either 'logit_cache' (cached teacher) or 'online_teacher', not both");
        Require(Stage is not (StageKind.Mimic or StageKind.D2s) || LogitCache is not null || OnlineTeacher is not null,
            "mimic and d2s need 'logit_cache' (from 'llavamod teacher cache-logits') or 'online_teacher'");
    }
}
