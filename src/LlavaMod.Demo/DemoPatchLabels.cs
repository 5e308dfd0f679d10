using LlavaMod.Core;
using LlavaMod.Demo.Corpus;
using LlavaMod.Training.Stages;

namespace LlavaMod.Demo;

/// <summary>
/// The demo's vision pre-training labels: with 48 px images and 16 px patches every patch token
/// is one cell of the scene's 3×3 grid, labelled with its object's colour and shape (0 = empty
/// cell). Data: a demo split folder (scenes.jsonl + images/) written by 'llavamod demo-data'.
/// </summary>
public sealed class DemoPatchLabels : IPatchLabelTask
{
    public string Name => "demo scene";

    /// <summary>Colour classes, then shape classes, each with "none" at 0.</summary>
    public IReadOnlyList<int> ClassCounts { get; } = [DemoVocabulary.Colors.Count + 1, DemoVocabulary.Shapes.Count + 1];

    public IEnumerable<PatchLabelledImage> Load(string folder)
    {
        string scenesPath = Path.Combine(folder, "scenes.jsonl");
        if (!File.Exists(scenesPath)) throw LlavaModException.ForFile(scenesPath, "not found: vision_pretrain reads a demo split folder written by 'llavamod demo-data'");
        var colours = DemoVocabulary.Colors.Select(c => c.Name).ToList();
        var shapes = DemoVocabulary.Shapes.ToList();
        long line = 0;
        foreach (var text in File.ReadLines(scenesPath))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var scene = Json.Deserialize<DemoSceneRecord>(text, $"{scenesPath}, row {line}");
            var cellColour = new int[9];
            var cellShape = new int[9];
            foreach (var o in scene.Objects)
            {
                cellColour[o.Row * 3 + o.Col] = 1 + colours.IndexOf(o.Color);
                cellShape[o.Row * 3 + o.Col] = 1 + shapes.IndexOf(o.Shape);
            }
            yield return new PatchLabelledImage(scene.SceneId, File.ReadAllBytes(Path.Combine(folder, scene.Image)), [cellColour, cellShape]);
        }
    }
}
