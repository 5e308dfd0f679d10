using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Training.Data;
using static TorchSharp.torch;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// Deterministic stand-ins for the demo's training rows, with the demo's shapes (measured on a seed-3 demo run with
/// <c>stage-lengths</c>, see <see cref="DemoLengthProbe"/>): a 55-token vocabulary subset, the image placeholder at
/// id 9 (9 image tokens after splicing), supervised tokens at the end of each row, and per batch of 64 the demo's
/// mix of row shapes. peers/llava_stage_bench.py builds the same rows, pixels, teacher top-k and pairs; every value
/// is an integer formula (pixels: an integer over 127.5 minus 1), so both sides see identical inputs.
/// </summary>
public static class SyntheticDemoRows
{
    public const int SubsetSize = 55;
    public const int ImageAt = 9;
    public const int TopK = 16;
    public const float TeacherTailLogMass = -3.0f;
    const int VocabSize = ModelPresets.QwenVocabSize;

    /// <summary>(ids, supervised) of the 64 rows of a batch: exists 26/2 ×21, colour 24/3 ×14 and 23/2 ×8, describe 38/19 ×6, 34/15, 30/11, 26/7 ×5 each.</summary>
    public static readonly (int Ids, int Supervised)[] SftShapes = Expand([(26, 2, 21), (24, 3, 14), (23, 2, 8), (38, 19, 6), (34, 15, 5), (30, 11, 5), (26, 7, 5)]);

    /// <summary>pd: prompt 19 ids, chosen and rejected responses of 7, 11, 15 or 19 tokens (the demo's four describe lengths, in equal shares).</summary>
    public const int PairPromptIds = 19;
    static readonly int[] PairResponseLengths = [7, 11, 15, 19];

    /// <summary>The subset's token ids: (i·2749 + 13) mod 151,936, all distinct.</summary>
    public static VocabSubset Subset() => new(Enumerable.Range(0, SubsetSize).Select(i => (int)((i * 2749L + 13) % VocabSize)));

    static (int, int)[] Expand((int Ids, int Supervised, int Count)[] shapes) =>
        shapes.SelectMany(s => Enumerable.Repeat((s.Ids, s.Supervised), s.Count)).ToArray();

    static int Token(VocabSubset subset, long g, int j, int salt = 5) => subset.TokenIdAt((int)((g * 31 + j * 17 + salt) % SubsetSize));

    /// <summary>Pixel values [3, 48, 48] of image g: ((g·131 + c·71 + y·48 + x) mod 255) / 127.5 − 1.</summary>
    public static Tensor Pixels(long g, int side = 48)
    {
        var values = new float[3 * side * side];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    values[(c * side + y) * side + x] = (float)((g * 131 + c * 71 + y * 48 + x) % 255 / 127.5 - 1.0);
        return tensor(values).view(3, side, side);
    }

    static long[] PromptIds(VocabSubset subset, long g, int length) =>
        Enumerable.Range(0, length).Select(j => j == ImageAt ? LlavaBatch.ImageTokenIndex : Token(subset, g, j)).ToArray();

    /// <summary>The 64 (or <paramref name="batch"/>) supervised rows of step <paramref name="step"/>; row r is global row g = step·batch + r with shape SftShapes[(37r + 11·step) mod 64].</summary>
    public static SupervisedBatch SftBatch(VocabSubset subset, int step, int batch)
    {
        var rows = new List<SupervisedExample>(batch);
        var pixels = new List<Tensor?>(batch);
        for (int r = 0; r < batch; r++)
        {
            long g = (long)step * batch + r;
            var (length, supervised) = SftShapes[(37 * r + 11 * step) % SftShapes.Length];
            var ids = PromptIds(subset, g, length);
            var labels = ids.Select((id, j) => j >= length - supervised ? id : LlavaBatch.IgnoreIndex).ToArray();
            rows.Add(new SupervisedExample(Key(g), ids, labels, [], $"row-{g}"));
            pixels.Add(Pixels(g).DetachFromDisposeScope());
        }
        return new SupervisedBatch(rows) { Pixels = pixels };
    }

    public static string Key(long g) => $"g{g:D8}";

    /// <summary>
    /// The cached teacher of supervised token t of row g: 16 distinct subset columns (start + 2j) mod 55 with
    /// start = (7g + 3t) mod 55, log-probs lp₀ − j/2 (multiples of the cache's 1/64 grid below the float32 top-1,
    /// so the cache stores them exactly) and tail log-mass −3, with lp₀ = log((1 − e⁻³) / Σ_j e^(−j/2)).
    /// </summary>
    public static (int[] Columns, float[] LogProbs) TeacherTopK(long g, int t)
    {
        int start = (int)((7 * g + 3 * t) % SubsetSize);
        double norm = Enumerable.Range(0, TopK).Sum(j => Math.Exp(-0.5 * j));
        float top1 = (float)Math.Log((1 - Math.Exp(TeacherTailLogMass)) / norm);
        return (Enumerable.Range(0, TopK).Select(j => (start + 2 * j) % SubsetSize).ToArray(),
                Enumerable.Range(0, TopK).Select(j => top1 - 0.5f * j).ToArray());
    }

    /// <summary>32 (or <paramref name="pairs"/>) preference pairs of step <paramref name="step"/>.</summary>
    public static PairBatch PairBatch(VocabSubset subset, int step, int pairs)
    {
        var (chosenRows, rejectedRows, trainingPairs) = (new List<SupervisedExample>(), new List<SupervisedExample>(), new List<TrainingPair>());
        var pixels = new List<Tensor?>(2 * pairs);
        for (int i = 0; i < pairs; i++)
        {
            long p = (long)step * pairs + i;
            int length = PairResponseLengths[(i + step) % PairResponseLengths.Length];
            var prompt = PromptIds(subset, p, PairPromptIds);
            SupervisedExample Row(string suffix, int salt)
            {
                var response = Enumerable.Range(0, length).Select(j => (long)subset.TokenIdAt((int)((p * 13 + j * 7 + salt) % SubsetSize))).ToArray();
                var labels = Enumerable.Repeat(LlavaBatch.IgnoreIndex, prompt.Length).Concat(response).ToArray();
                pixels.Add(Pixels(p).DetachFromDisposeScope()); // chosen, then rejected: the batch's sequence order
                return new SupervisedExample($"p{p:D8}{suffix}", prompt.Concat(response).ToArray(), labels, [], $"pair-{p}");
            }
            var chosen = Row("c", 1);
            var rejected = Row("r", 3);
            chosenRows.Add(chosen);
            rejectedRows.Add(rejected);
            int[] Response(SupervisedExample row) => row.InputIds[prompt.Length..].Select(id => (int)id).ToArray();
            trainingPairs.Add(new TrainingPair(p, prompt.Select(id => (int)id).ToArray(), Response(chosen), Response(rejected),
                RefChosenLogp: -2.5 * length, RefRejectedLogp: -2.6 * length - 0.5, Severity: 1.0));
        }
        return new PairBatch(trainingPairs, chosenRows, rejectedRows) { Pixels = pixels };
    }
}
