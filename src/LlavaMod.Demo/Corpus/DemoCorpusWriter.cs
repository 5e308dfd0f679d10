using System.Text;
using LlavaMod.Core;

namespace LlavaMod.Demo.Corpus;

/// <summary>
/// Writes the demo corpus in the raw layout users bring, one folder per split:
/// <c>{split}/conversations.json</c> (LLaVA format), <c>{split}/images/*.png</c>, and the ground truth
/// <c>{split}/scenes.jsonl</c> and <c>{split}/questions.jsonl</c>; plus <c>dataset.json</c> and
/// <c>README.md</c> at the root. Everything is built in a temporary sibling folder and renamed into
/// place at the end, so a killed run leaves no half corpus. Same options, same bytes.
/// </summary>
public static class DemoCorpusWriter
{
    public const string ManifestFileName = "dataset.json";

    /// <param name="overwrite">Replace an existing corpus (a folder holding dataset.json); any other non-empty folder is refused.</param>
    public static DemoCorpusSummary Write(string outDir, DemoOptions options, bool overwrite = false)
    {
        options.Validate();
        string target = Path.GetFullPath(outDir);
        CheckTarget(target, overwrite);
        string temp = $"{target.TrimEnd(Path.DirectorySeparatorChar)}{AtomicFile.TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            var generator = new DemoSceneGenerator(options);
            var splits = options.Splits().Select(s => WriteSplit(temp, generator, s, options.Seed)).ToArray();
            var manifest = BuildManifest(options, splits);
            Json.WriteFileAtomic(Path.Combine(temp, ManifestFileName), manifest);
            AtomicFile.WriteAllText(Path.Combine(temp, "README.md"), DemoReadme.Text(manifest));
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(temp, target);
            return new DemoCorpusSummary(target, manifest);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    static void CheckTarget(string target, bool overwrite)
    {
        if (File.Exists(target)) throw LlavaModException.ForFile(target, "is a file; give a folder for the demo corpus");
        if (!Directory.Exists(target) || !Directory.EnumerateFileSystemEntries(target).Any()) return;
        if (!File.Exists(Path.Combine(target, ManifestFileName)))
            throw LlavaModException.ForFile(target, $"exists, is not empty and holds no {ManifestFileName}; choose an empty or new folder");
        if (!overwrite)
            throw LlavaModException.ForFile(target, "already holds a demo corpus; pass --force to replace it");
    }

    static DemoSplitSummary WriteSplit(string root, DemoSceneGenerator generator, DemoSplit split, int seed)
    {
        string dir = Path.Combine(root, split.Name);
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        var questionRandom = new Random(DemoSceneGenerator.SplitSeed(seed, split.Name + "/questions"));
        var conversations = new List<LlavaConversationRecord>();
        var scenesJsonl = new StringBuilder();
        var questionsJsonl = new StringBuilder();
        int scenes = 0;
        foreach (var scene in generator.Generate(split))
        {
            string image = $"images/{scene.Id}.png";
            File.WriteAllBytes(Path.Combine(dir, image), DemoRenderer.RenderPng(scene));
            scenesJsonl.Append(System.Text.Json.JsonSerializer.Serialize(ToRecord(scene, image), Json.Compact)).Append('\n');
            foreach (var example in DemoQuestions.For(scene, questionRandom))
            {
                conversations.Add(new LlavaConversationRecord(example.Id, image,
                    [new LlavaTurn("human", "<image>\n" + example.Question), new LlavaTurn("gpt", example.Answer)]));
                var target = example.Target is { } t ? new ObjectKindRecord(t.Color, t.Shape) : null;
                questionsJsonl.Append(System.Text.Json.JsonSerializer.Serialize(
                    new DemoQuestionRecord(example.Id, scene.Id, example.Kind, example.Question, example.Answer, target), Json.Compact)).Append('\n');
            }
            scenes++;
        }
        string conversationsPath = Path.Combine(dir, "conversations.json");
        Json.WriteFileAtomic(conversationsPath, conversations);
        AtomicFile.WriteAllText(Path.Combine(dir, "scenes.jsonl"), scenesJsonl.ToString());
        AtomicFile.WriteAllText(Path.Combine(dir, "questions.jsonl"), questionsJsonl.ToString());
        return new DemoSplitSummary(split.Name, scenes, conversations.Count, split.Biased,
            $"{split.Name}/conversations.json", $"{split.Name}/scenes.jsonl", $"{split.Name}/questions.jsonl", $"{split.Name}/images",
            Hashing.Sha256OfFile(conversationsPath));
    }

    static DemoSceneRecord ToRecord(DemoScene scene, string image) => new(scene.Id, image, scene.NoisyBackground,
        scene.Objects.Select(o => new DemoObjectRecord(o.Color, o.Shape, o.Row, o.Col, o.Position, o.Size, o.CenterX, o.CenterY)).ToArray());

    static DemoManifest BuildManifest(DemoOptions options, IReadOnlyList<DemoSplitSummary> splits) => new(
        "llavamod-demo",
        $"{ToolInfo.Name} demo-data",
        ToolInfo.Version,
        options.Seed,
        DemoOptions.ImageSize,
        DemoOptions.GridSize,
        DemoOptions.CellSize,
        DemoVocabulary.Colors.Select(c => c.Name).ToArray(),
        DemoVocabulary.Shapes,
        DemoVocabulary.BiasPairs.Select(p => new DemoBiasPairRecord(
            new(p.Trigger.Color, p.Trigger.Shape), new(p.Partner.Color, p.Partner.Shape))).ToArray(),
        splits);
}
