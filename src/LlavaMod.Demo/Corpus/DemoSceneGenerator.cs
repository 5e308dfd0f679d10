using LlavaMod.Core;

namespace LlavaMod.Demo.Corpus;

/// <summary>
/// Draws random scenes: 1–4 objects with distinct (colour, shape) pairs in distinct cells of the
/// 3×3 grid. In a biased split every trigger of <see cref="DemoVocabulary.BiasPairs"/> comes with its
/// partner. Each split has its own random stream derived from the seed and the split name, so a
/// split's scenes do not depend on the sizes of the other splits.
/// </summary>
public sealed class DemoSceneGenerator
{
    readonly DemoOptions options;

    public DemoSceneGenerator(DemoOptions options)
    {
        options.Validate();
        this.options = options;
    }

    /// <summary>The random seed of one split: the first four bytes of SHA-256("demo/{seed}/{split}").</summary>
    public static int SplitSeed(int seed, string split) =>
        BitConverter.ToInt32(Convert.FromHexString(Hashing.Sha256Hex($"demo/{seed}/{split}")[..8]));

    /// <summary>The scenes of <paramref name="split"/>, ids "{split}-00000", "{split}-00001", ...</summary>
    public IEnumerable<DemoScene> Generate(DemoSplit split)
    {
        var random = new Random(SplitSeed(options.Seed, split.Name));
        for (int i = 0; i < split.Scenes; i++)
            yield return NextScene(random, $"{split.Name}-{i:D5}", split.Biased);
    }

    DemoScene NextScene(Random random, string id, bool biased)
    {
        int count = random.Next(options.MinObjects, options.MaxObjects + 1);
        var kinds = DrawKinds(random, count);
        if (biased) kinds = ApplyBias(random, kinds);

        int[] cells = Enumerable.Range(0, DemoOptions.GridSize * DemoOptions.GridSize).ToArray();
        random.Shuffle(cells);
        var objects = new List<DemoObject>(kinds.Count);
        for (int i = 0; i < kinds.Count; i++)
        {
            int row = cells[i] / DemoOptions.GridSize, col = cells[i] % DemoOptions.GridSize;
            int size = random.Next(11, 15);                       // 11..14 px in a 16 px cell
            double cx = col * DemoOptions.CellSize + DemoOptions.CellSize / 2.0 + random.Next(-1, 2);
            double cy = row * DemoOptions.CellSize + DemoOptions.CellSize / 2.0 + random.Next(-1, 2);
            objects.Add(new DemoObject(kinds[i].Color, kinds[i].Shape, row, col, size, cx, cy));
        }
        objects.Sort((a, b) => (a.Row * DemoOptions.GridSize + a.Col).CompareTo(b.Row * DemoOptions.GridSize + b.Col));
        bool noisy = random.NextDouble() < options.NoisyFraction;
        return new DemoScene(id, objects, noisy, random.Next());
    }

    static List<ObjectKind> DrawKinds(Random random, int count)
    {
        var all = DemoVocabulary.AllObjectKinds.ToArray();
        random.Shuffle(all);
        return all.Take(count).ToList();
    }

    /// <summary>
    /// Adds each present trigger's partner. When the scene is full, a partner replaces an object that
    /// is neither a trigger nor a needed partner; when none can go, the trigger is dropped instead.
    /// </summary>
    List<ObjectKind> ApplyBias(Random random, List<ObjectKind> kinds)
    {
        var result = new List<ObjectKind>(kinds);
        foreach (var (trigger, partner) in DemoVocabulary.BiasPairs)
        {
            if (!result.Contains(trigger) || result.Contains(partner)) continue;
            if (result.Count < options.MaxObjects) { result.Add(partner); continue; }
            var replaceable = result.Where(k => !IsProtected(k, result)).ToList();
            if (replaceable.Count > 0)
                result[result.IndexOf(replaceable[random.Next(replaceable.Count)])] = partner;
            else
                result.Remove(trigger);
        }
        return result;
    }

    /// <summary>A trigger, or the partner of a trigger present in <paramref name="kinds"/>.</summary>
    static bool IsProtected(ObjectKind kind, List<ObjectKind> kinds) =>
        DemoVocabulary.BiasPairs.Any(p => p.Trigger == kind || (p.Partner == kind && kinds.Contains(p.Trigger)));
}
