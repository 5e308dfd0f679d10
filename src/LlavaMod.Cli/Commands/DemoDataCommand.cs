using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Demo.Corpus;

namespace LlavaMod.Cli.Commands;

/// <summary><c>llavamod demo-data</c>: writes the synthetic demo corpus (docs/demo.md) in the raw LLaVA layout.</summary>
public static class DemoDataCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder to write the corpus into (new or empty).", Required = true };
        var scenes = new Option<int>("--scenes")
        {
            Description = "Training scenes N; val, test and mine default to N/10, N/3 and N.",
            DefaultValueFactory = _ => 3000,
        };
        var seed = new Option<int>("--seed") { Description = "Random seed: same seed, same bytes.", DefaultValueFactory = _ => 1 };
        var train = new Option<int?>("--train") { Description = "Training scenes (overrides --scenes)." };
        var val = new Option<int?>("--val") { Description = "Validation scenes (unbiased)." };
        var test = new Option<int?>("--test") { Description = "Test scenes (unbiased)." };
        var mine = new Option<int?>("--mine") { Description = "Fresh unbiased scenes for mining preference pairs." };
        var bias = new Option<bool>("--bias") { Description = "Give the training split the co-occurrence bias (the default)." };
        var noBias = new Option<bool>("--no-bias") { Description = "Draw the training split without the co-occurrence bias." };
        var noisy = new Option<double>("--noisy-fraction")
        {
            Description = "Share of scenes on a noisy background.",
            DefaultValueFactory = _ => 0.5,
        };
        var force = new Option<bool>("--force") { Description = "Replace an existing demo corpus in --out." };

        var command = new Command("demo-data", "Write the synthetic demo corpus: per split a LLaVA conversation JSON, PNG images and ground truth.");
        foreach (var option in new Option[] { outDir, scenes, seed, train, val, test, mine, bias, noBias, noisy, force })
            command.Options.Add(option);

        command.SetAction(parse =>
        {
            if (parse.GetValue(bias) && parse.GetValue(noBias)) throw new LlavaModException("--bias and --no-bias contradict each other");
            int n = parse.GetValue(scenes);
            if (n < 1) throw new LlavaModException($"--scenes must be at least 1 (got {n})");
            var scaled = DemoOptions.Scaled(n, parse.GetValue(seed));
            var options = scaled with
            {
                TrainScenes = parse.GetValue(train) ?? scaled.TrainScenes,
                ValScenes = parse.GetValue(val) ?? scaled.ValScenes,
                TestScenes = parse.GetValue(test) ?? scaled.TestScenes,
                MineScenes = parse.GetValue(mine) ?? scaled.MineScenes,
                Bias = !parse.GetValue(noBias),
                NoisyFraction = parse.GetValue(noisy),
            };
            try { options.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new LlavaModException($"invalid demo settings: {e.Message}", e); }

            var summary = DemoCorpusWriter.Write(parse.GetValue(outDir)!, options, parse.GetValue(force));
            foreach (var s in summary.Manifest.Splits)
                Console.WriteLine($"{s.Name,-6} {s.Scenes,6} scenes {s.Examples,7} examples{(s.Biased ? "  (biased)" : "")}");
            Console.WriteLine($"wrote {summary.OutputDirectory}");
        });
        return command;
    }
}
