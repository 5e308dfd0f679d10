using LlavaMod.Data.Text;
using System.Text.Json;
using LlavaMod.Models;
using LlavaMod.Training.Data;

namespace LlavaMod.Benchmarks.Training;

/// <summary>
/// <c>stage-lengths SHARDS [--pairs COPY_OF_DB --mine SHARDS]</c>: the row shapes of a real demo run that
/// <see cref="SyntheticDemoRows"/> copies: per row the id count, where the image placeholder sits and how
/// many tokens are supervised (and, for pairs, the prompt and both response lengths). Prints JSON histograms.
/// </summary>
public static class DemoLengthProbe
{
    public static int Run(string[] args)
    {
        var shards = new List<string>();
        string? pairsDb = null, mine = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--pairs") pairsDb = args[++i];
            else if (args[i] == "--mine") mine = args[++i];
            else shards.Add(args[i]);
        }
        if (shards.Count > 0)
        {
            var dataset = ShardDataset.Open(shards);
            var shapes = new Dictionary<string, int>();
            for (int s = 0; s < dataset.ShardPaths.Count; s++)
                foreach (var row in dataset.LoadShard(s))
                {
                    var e = SupervisedExample.FromShardRow(row);
                    int image = Array.IndexOf(e.InputIds, LlavaBatch.ImageTokenIndex);
                    int lastSupervised = Array.FindLastIndex(e.Labels, l => l != LlavaBatch.IgnoreIndex);
                    string shape = $"ids={e.InputIds.Length} image_at={image} supervised={e.SupervisedCount} after_last_supervised={e.InputIds.Length - 1 - lastSupervised}";
                    shapes[shape] = shapes.GetValueOrDefault(shape) + 1;
                }
            Console.WriteLine(JsonSerializer.Serialize(shapes.OrderByDescending(p => p.Value).ToDictionary()));
        }
        if (pairsDb is not null)
        {
            Preferences.PairStore.Open(pairsDb).Dispose(); // migrates an older schema in place: pass a copy
            var set = PairBatches.Load(pairsDb, "train", null, mine is null ? null : [mine]);
            using var images = set.Images;
            var pairs = set.Pairs;
            var shapes = new Dictionary<string, int>();
            foreach (var p in pairs)
            {
                string shape = $"prompt={p.PromptIds.Length} chosen={p.ChosenIds.Length} rejected={p.RejectedIds.Length}";
                shapes[shape] = shapes.GetValueOrDefault(shape) + 1;
            }
            Console.WriteLine($"{pairs.Count} pairs; mean chosen {pairs.Average(p => p.ChosenIds.Length):F2}, rejected {pairs.Average(p => p.RejectedIds.Length):F2} supervised tokens");
            Console.WriteLine(JsonSerializer.Serialize(shapes.OrderByDescending(p => p.Value).ToDictionary()));
        }
        return 0;
    }
}
