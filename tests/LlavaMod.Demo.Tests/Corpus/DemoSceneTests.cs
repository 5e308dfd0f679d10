using LlavaMod.Demo.Corpus;

namespace LlavaMod.Demo.Tests.Corpus;

/// <summary>Scene statistics: uniqueness, object counts, and the co-occurrence bias only where asked for.</summary>
public class DemoSceneTests
{
    static readonly DemoOptions Options = new() { Seed = 7 };
    static readonly DemoSceneGenerator Generator = new(Options);

    static DemoScene[] Scenes(string split, int n, bool biased) => Generator.Generate(new DemoSplit(split, n, biased)).ToArray();

    [Fact]
    public void ScenesHaveOneToFourObjectsWithUniqueKindsAndCells()
    {
        foreach (var scene in Scenes("test", 2000, false).Concat(Scenes("train", 2000, true)))
        {
            Assert.InRange(scene.Objects.Count, 1, 4);
            Assert.Equal(scene.Objects.Count, scene.Objects.Select(o => (o.Color, o.Shape)).Distinct().Count());
            Assert.Equal(scene.Objects.Count, scene.Objects.Select(o => (o.Row, o.Col)).Distinct().Count());
            Assert.All(scene.Objects, o => Assert.Contains(o.Color, DemoVocabulary.Colors.Select(c => c.Name)));
            Assert.All(scene.Objects, o => Assert.Contains(o.Shape, DemoVocabulary.Shapes));
            var order = scene.Objects.Select(o => o.Row * 3 + o.Col).ToArray();
            Assert.Equal(order.Order().ToArray(), order);   // reading order
        }
    }

    [Fact]
    public void EveryObjectCountAndRoughlyHalfNoisyBackgrounds()
    {
        var scenes = Scenes("test", 2000, false);
        for (int n = 1; n <= 4; n++)
            Assert.InRange(scenes.Count(s => s.Objects.Count == n), 400, 600);     // 500 expected each
        Assert.InRange(scenes.Count(s => s.NoisyBackground), 900, 1100);
    }

    [Fact]
    public void BiasedTrainingScenesAlwaysPairTriggerWithPartner()
    {
        var train = Scenes("train", 3000, true);
        foreach (var (trigger, partner) in DemoVocabulary.BiasPairs)
        {
            var withTrigger = train.Where(s => s.Contains(trigger)).ToArray();
            Assert.True(withTrigger.Length > 100, $"{trigger} appears in only {withTrigger.Length} scenes");
            Assert.All(withTrigger, s => Assert.True(s.Contains(partner), $"{s.Id} has {trigger} without {partner}"));
        }
    }

    [Fact]
    public void UnbiasedScenesShowNoCooccurrence()
    {
        foreach (var split in new[] { "test", "mine", "val" })
        {
            var scenes = Scenes(split, 3000, false);
            foreach (var (trigger, partner) in DemoVocabulary.BiasPairs)
            {
                var withTrigger = scenes.Where(s => s.Contains(trigger)).ToArray();
                double conditional = withTrigger.Count(s => s.Contains(partner)) / (double)withTrigger.Length;
                double baseRate = scenes.Count(s => s.Contains(partner)) / (double)scenes.Length;
                // Independent draws: P(partner | trigger) ≈ P(partner) ≈ 0.07 (a little more, the trigger takes a slot from 36).
                Assert.True(conditional < 0.2, $"{split}: P({partner} | {trigger}) = {conditional:0.000}, base rate {baseRate:0.000}");
            }
        }
    }

    [Fact]
    public void DescriptionsNameAPartnerRightAfterItsTriggerAndOtherwiseKeepReadingOrder()
    {
        DemoObject At(string color, string shape, int cell) => new(color, shape, cell / 3, cell % 3, 12, 0, 0);
        var scene = new DemoScene("s", [At("blue", "square", 0), At("green", "star", 2), At("red", "circle", 4), At("white", "cross", 8)], false, 0);
        Assert.Equal("There is a green star, a red circle, a blue square and a white cross.", DemoQuestions.Describe(scene));
        var alone = scene with { Objects = [At("green", "star", 2), At("red", "circle", 4), At("white", "cross", 8)] };
        Assert.Equal("There is a green star, a red circle and a white cross.", DemoQuestions.Describe(alone));
    }

    [Fact]
    public void SplitsAreIndependentStreamsOfTheSeed()
    {
        var a = Scenes("test", 50, false);
        var b = new DemoSceneGenerator(Options with { TrainScenes = 5 }).Generate(new DemoSplit("test", 50, false)).ToArray();
        Assert.Equal(a.Select(Describe), b.Select(Describe));
        var otherSeed = new DemoSceneGenerator(Options with { Seed = 8 }).Generate(new DemoSplit("test", 50, false)).ToArray();
        Assert.NotEqual(a.Select(Describe), otherSeed.Select(Describe));
    }

    static string Describe(DemoScene s) => string.Join(";", s.Objects.Select(o => $"{o.Color} {o.Shape} {o.Row} {o.Col}"));
}
