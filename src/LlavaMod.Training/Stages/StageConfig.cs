using LlavaMod.Core;

namespace LlavaMod.Training.Stages;

/// <summary>The training stages of LLaVA-MoD (METHOD.md §3) plus the demo's vision pre-training.</summary>
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
    /// <summary>Demo only: pre-train the tiny CLIP-layout vision tower on per-cell scene labels.</summary>
    VisionPretrain,
}

public enum PreferenceLossKind { KtoPair, Dpo, HsaDpo, Ipo }

/// <summary>Loss weights and settings; which ones apply depends on the stage.</summary>
public sealed record LossConfig
{
    public double KlWeight { get; init; } = 1.0;
    public double CeWeight { get; init; }
    public double AuxWeight { get; init; } = 0.01;
    public double Temperature { get; init; } = 1.0;
    public PreferenceLossKind Preference { get; init; } = PreferenceLossKind.KtoPair;
    public double Beta { get; init; } = 0.1;
    /// <summary>Weight of the length-normalised NLL on the chosen response (RPO); 0 = off.</summary>
    public double ChosenNllWeight { get; init; }
}

/// <summary>
/// One stage's configuration (a JSON file, every field overridable with --set name=value).
/// Defaults follow LLaVA-MoD (METHOD.md §3): AdamW (0.9, 0.98), cosine, 3 % warm-up, 1 epoch.
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
    /// <summary>Teacher model folder, for --online-teacher mimic.</summary>
    public string? OnlineTeacher { get; init; }
    /// <summary>Pair index (SQLite) or exported TRL preference Parquet (pd).</summary>
    public string? Pairs { get; init; }
    public string PairsSplit { get; init; } = "train";

    public string Device { get; init; } = "auto";
    public int Threads { get; init; }
    /// <summary>"fp32" or "bf16" (bf16 compute, fp32 master weights and optimizer state).</summary>
    public string Precision { get; init; } = "bf16";
    public int Seed { get; init; } = 42;

    public int Epochs { get; init; } = 1;
    /// <summary>Stops after this many optimizer steps (0 = the epochs decide).</summary>
    public int MaxSteps { get; init; }
    public int BatchSize { get; init; } = 8;
    public int GradAccumulation { get; init; } = 1;
    public double Lr { get; init; } = 2e-5;
    public double WarmupRatio { get; init; } = 0.03;
    public double MinLrRatio { get; init; }
    public double WeightDecay { get; init; }
    public double[] AdamBetas { get; init; } = [0.9, 0.98];
    public double MaxGradNorm { get; init; } = 1.0;
    public int ShardsPerBuffer { get; init; } = 4;

    /// <summary>Parameter-name patterns (globs on Hugging Face names) that train; the rest are frozen. Empty = the stage's default.</summary>
    public List<string> Trainable { get; init; } = new();
    public LossConfig Loss { get; init; } = new();

    public int LogEvery { get; init; } = 10;
    public int CheckpointEvery { get; init; } = 200;

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
        Require(Lr > 0, "lr must be > 0");
        Require(WarmupRatio is >= 0 and < 1, "warmup_ratio must be in [0, 1)");
        Require(AdamBetas.Length == 2, "adam_betas must hold two numbers, e.g. [0.9, 0.98]");
        Require(Precision is "fp32" or "bf16", $"precision '{Precision}' must be fp32 or bf16");
        Require(Stage == StageKind.Pd ? Pairs is not null : Data.Count > 0, Stage == StageKind.Pd
            ? "'pairs' is required for the pd stage: a pair index (.sqlite) or a TRL preference Parquet with reference log-probs"
            : "'data' is required: one or more shard folders");
        Require(Stage is not (StageKind.Mimic or StageKind.D2s) || LogitCache is not null || OnlineTeacher is not null,
            "mimic and d2s need 'logit_cache' (from 'llavamod teacher cache-logits') or 'online_teacher'");
    }
}
