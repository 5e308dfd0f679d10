using System.Text;

namespace LlavaMod.Demo.Corpus;

/// <summary>The README.md written at the root of a demo corpus.</summary>
static class DemoReadme
{
    public static string Text(DemoManifest m)
    {
        var sb = new StringBuilder();
        sb.Append("# Demo corpus\n\n");
        sb.Append($"Synthetic scenes written by `{m.Generator}` {m.ToolVersion}, seed {m.Seed}. Each image is ")
          .Append($"{m.ImageSize}x{m.ImageSize} RGB: a {m.GridSize}x{m.GridSize} grid of {m.CellSize}-pixel cells with ")
          .Append("1-4 objects of distinct (colour, shape), half of the scenes on a noisy background.\n\n");
        sb.Append($"Colours: {string.Join(", ", m.Colors)}. Shapes: {string.Join(", ", m.Shapes)}.\n\n");
        sb.Append("| split | scenes | examples | co-occurrence bias |\n| --- | --- | --- | --- |\n");
        foreach (var s in m.Splits)
            sb.Append($"| {s.Name} | {s.Scenes} | {s.Examples} | {(s.Biased ? "yes" : "no")} |\n");
        sb.Append("\nIn a biased split each trigger object always appears with its partner: ");
        sb.Append(string.Join("; ", m.BiasPairs.Select(p => $"{p.Trigger.Color} {p.Trigger.Shape} with {p.Partner.Color} {p.Partner.Shape}")));
        sb.Append(".\n\nPer split: `conversations.json` (LLaVA format, images relative to the split folder), ")
          .Append("`images/`, `scenes.jsonl` (ground truth: objects with colour, shape, row, col, size) and ")
          .Append("`questions.jsonl` (each example's kind, answer and target object).\n");
        return sb.ToString();
    }
}
