using System.Text.Json;
using System.Text.RegularExpressions;
using LlavaMod.Core;
using LlavaMod.Demo.Corpus;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Demo.Tests.Corpus;

/// <summary>The written corpus: byte-identical reruns, LLaVA layout, and answers that agree with the ground truth.</summary>
public sealed class DemoCorpusWriterTests : IDisposable
{
    static readonly DemoOptions Small = new() { Seed = 5, TrainScenes = 40, ValScenes = 8, TestScenes = 60, MineScenes = 12 };
    readonly string root = Path.Combine(Path.GetTempPath(), "llavamod-demo-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static Dictionary<string, byte[]> ReadTree(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [Fact]
    public void SameSeedGivesByteIdenticalCorpus()
    {
        DemoCorpusWriter.Write(Path.Combine(root, "a"), Small);
        DemoCorpusWriter.Write(Path.Combine(root, "b"), Small);
        var a = ReadTree(Path.Combine(root, "a"));
        var b = ReadTree(Path.Combine(root, "b"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.Equal(2 + 4 * 3 + (40 + 8 + 60 + 12), a.Count);   // dataset.json, README.md; 3 files per split; one PNG per scene
        foreach (var (name, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"{name} differs");

        DemoCorpusWriter.Write(Path.Combine(root, "c"), Small with { Seed = 6 });
        Assert.NotEqual(a["train/conversations.json"], File.ReadAllBytes(Path.Combine(root, "c", "train/conversations.json")));
    }

    [Fact]
    public void RefusesToOverwriteWithoutForceAndNeverTouchesForeignFolders()
    {
        string dir = Path.Combine(root, "corpus");
        DemoCorpusWriter.Write(dir, Small with { TrainScenes = 3, ValScenes = 1, TestScenes = 1, MineScenes = 1 });
        var e = Assert.Throws<LlavaModException>(() => DemoCorpusWriter.Write(dir, Small));
        Assert.Contains("--force", e.Message);
        DemoCorpusWriter.Write(dir, Small with { TrainScenes = 4, ValScenes = 1, TestScenes = 1, MineScenes = 1 }, overwrite: true);
        Assert.Equal(4, Directory.GetFiles(Path.Combine(dir, "train", "images")).Length);

        string foreign = Path.Combine(root, "photos");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "keep.txt"), "mine");
        Assert.Throws<LlavaModException>(() => DemoCorpusWriter.Write(foreign, Small, overwrite: true));
        Assert.True(File.Exists(Path.Combine(foreign, "keep.txt")));
        Assert.Empty(Directory.GetDirectories(root, "*.tmp-*"));
    }

    [Fact]
    public void AnswersAgreeWithGroundTruthAndImages()
    {
        string dir = Path.Combine(root, "corpus");
        var summary = DemoCorpusWriter.Write(dir, Small);
        Assert.Equal(["train", "val", "test", "mine"], summary.Manifest.Splits.Select(s => s.Name));
        string[] rowNames = ["top", "middle", "bottom"], colNames = ["left", "center", "right"];
        foreach (var split in summary.Manifest.Splits)
        {
            var scenes = File.ReadAllLines(Path.Combine(dir, split.ScenesFile))
                .Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(e => e.GetProperty("scene_id").GetString()!);
            Assert.Equal(split.Scenes, scenes.Count);
            using var conversations = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, split.Conversations)));
            Assert.Equal(split.Examples, conversations.RootElement.GetArrayLength());
            Assert.Equal(3 * split.Scenes, split.Examples);
            foreach (var record in conversations.RootElement.EnumerateArray())
            {
                string id = record.GetProperty("id").GetString()!;
                string image = record.GetProperty("image").GetString()!;
                var turns = record.GetProperty("conversations").EnumerateArray().ToArray();
                Assert.Equal(["human", "gpt"], turns.Select(t => t.GetProperty("from").GetString()));
                string question = turns[0].GetProperty("value").GetString()!;
                string answer = turns[1].GetProperty("value").GetString()!;
                Assert.StartsWith("<image>\n", question);
                question = question["<image>\n".Length..];

                string sceneId = Path.GetFileNameWithoutExtension(image);
                Assert.StartsWith(sceneId + "-", id);
                var objects = scenes[sceneId].GetProperty("objects").EnumerateArray()
                    .Select(o => (Color: o.GetProperty("color").GetString()!, Shape: o.GetProperty("shape").GetString()!,
                        Row: o.GetProperty("row").GetInt32(), Col: o.GetProperty("col").GetInt32())).ToArray();
                Assert.True(File.Exists(Path.Combine(dir, split.Name, image)), image);

                Match m;
                if (question == "Describe the image.")
                {
                    var named = Regex.Matches(answer, @"\ba (\w+) (\w+)").Select(x => (x.Groups[1].Value, x.Groups[2].Value)).ToList();
                    Assert.Equal(objects.Select(o => (o.Color, o.Shape)).Order(), named.Order());
                    // reading order, except that a bias partner comes right after its trigger
                    var partners = DemoVocabulary.BiasPairs.Where(p => named.Contains((p.Trigger.Color, p.Trigger.Shape)))
                        .Select(p => (p.Partner.Color, p.Partner.Shape)).Where(named.Contains).ToHashSet();
                    foreach (var p in DemoVocabulary.BiasPairs.Where(p => partners.Contains((p.Partner.Color, p.Partner.Shape))))
                        Assert.Equal(named.IndexOf((p.Trigger.Color, p.Trigger.Shape)) + 1, named.IndexOf((p.Partner.Color, p.Partner.Shape)));
                    Assert.Equal(objects.Select(o => (o.Color, o.Shape)).Where(o => !partners.Contains(o)), named.Where(o => !partners.Contains(o)));
                }
                else if (question == "How many objects are there?")
                    Assert.Equal(objects.Length.ToString(), answer);
                else if ((m = Regex.Match(question, @"^Is there a (\w+) (\w+) in the image\?$")).Success)
                    Assert.Equal(objects.Any(o => o.Color == m.Groups[1].Value && o.Shape == m.Groups[2].Value) ? "Yes" : "No", answer);
                else if ((m = Regex.Match(question, @"^What color is the (\w+)\?$")).Success)
                    Assert.Equal(objects.Single(o => o.Shape == m.Groups[1].Value).Color, answer);
                else if ((m = Regex.Match(question, @"^Where is the (\w+) (\w+)\?$")).Success)
                {
                    var o = objects.Single(o => o.Color == m.Groups[1].Value && o.Shape == m.Groups[2].Value);
                    string expected = (o.Row, o.Col) == (1, 1) ? "center" : o.Row == 1 ? $"middle {colNames[o.Col]}" : $"{rowNames[o.Row]} {colNames[o.Col]}";
                    Assert.Equal(expected, answer);
                }
                else Assert.Fail($"unexpected question '{question}'");
            }
            AssertImagesShowTheirObjects(dir, split, scenes);
        }
    }

    static void AssertImagesShowTheirObjects(string dir, DemoSplitSummary split, Dictionary<string, JsonElement> scenes)
    {
        foreach (var (sceneId, scene) in scenes)
        {
            using var image = Image.Load<Rgb24>(Path.Combine(dir, split.Name, scene.GetProperty("image").GetString()!));
            foreach (var o in scene.GetProperty("objects").EnumerateArray())
            {
                var (r, g, b) = DemoVocabulary.Rgb(o.GetProperty("color").GetString()!);
                var pixel = image[o.GetProperty("col").GetInt32() * 16 + 8, o.GetProperty("row").GetInt32() * 16 + 8];
                Assert.True(pixel == new Rgb24(r, g, b), $"{sceneId}: cell centre {pixel} is not {o.GetProperty("color")}");
            }
        }
    }

    [Fact]
    public void ExistenceQuestionsAreBalanced()
    {
        var generator = new DemoSceneGenerator(new DemoOptions { Seed = 2 });
        var random = new Random(1);
        var answers = generator.Generate(new DemoSplit("test", 1000, false))
            .SelectMany(s => DemoQuestions.For(s, random)).Where(e => e.Kind == DemoQuestionKind.Existence).Select(e => e.Answer).ToArray();
        Assert.Equal(1000, answers.Length);
        Assert.InRange(answers.Count(a => a == "Yes"), 440, 560);
    }
}
