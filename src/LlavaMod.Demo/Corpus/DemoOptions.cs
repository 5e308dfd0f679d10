namespace LlavaMod.Demo.Corpus;

/// <summary>
/// Settings of the demo corpus (see docs/demo.md): split sizes, the seed, and whether the training
/// split carries the co-occurrence bias. Validation, test and mining splits are never biased.
/// </summary>
public sealed record DemoOptions
{
    public int Seed { get; init; } = 1;
    public int TrainScenes { get; init; } = 3000;
    public int ValScenes { get; init; } = 300;
    public int TestScenes { get; init; } = 1000;
    /// <summary>Fresh unbiased scenes for mining preference pairs (not the teacher's training scenes).</summary>
    public int MineScenes { get; init; } = 3000;
    /// <summary>Whether the training split has the <see cref="DemoVocabulary.BiasPairs"/> co-occurrence bias.</summary>
    public bool Bias { get; init; } = true;
    /// <summary>Share of scenes drawn on a noisy background.</summary>
    public double NoisyFraction { get; init; } = 0.5;
    public int MinObjects { get; init; } = 1;
    public int MaxObjects { get; init; } = 4;

    /// <summary>Image side in pixels: a 3×3 grid of 16-pixel cells, one ViT patch per cell.</summary>
    public const int ImageSize = 48;
    public const int CellSize = 16;
    public const int GridSize = 3;

    /// <summary>Training split size N with the default proportions: val N/10, test N/3, mine N.</summary>
    public static DemoOptions Scaled(int trainScenes, int seed) => new()
    {
        Seed = seed,
        TrainScenes = trainScenes,
        ValScenes = trainScenes / 10,
        TestScenes = trainScenes / 3,
        MineScenes = trainScenes,
    };

    /// <summary>The splits in writing order.</summary>
    public IReadOnlyList<DemoSplit> Splits() =>
    [
        new("train", TrainScenes, Bias),
        new("val", ValScenes, false),
        new("test", TestScenes, false),
        new("mine", MineScenes, false),
    ];

    public void Validate()
    {
        foreach (var s in Splits())
            if (s.Scenes < 0) throw new ArgumentOutOfRangeException(nameof(Splits), s.Scenes, $"{s.Name} scene count must not be negative");
        if (MinObjects < 1 || MaxObjects > GridSize * GridSize || MinObjects > MaxObjects)
            throw new ArgumentOutOfRangeException(nameof(MaxObjects), $"objects per scene must satisfy 1 <= min ({MinObjects}) <= max ({MaxObjects}) <= 9");
        if (Bias && MaxObjects < 2)
            throw new ArgumentOutOfRangeException(nameof(MaxObjects), "the co-occurrence bias needs room for two objects per scene");
        if (!(NoisyFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(NoisyFraction), NoisyFraction, "must be within 0..1");
    }
}

/// <summary>One split of the demo corpus.</summary>
public sealed record DemoSplit(string Name, int Scenes, bool Biased);
