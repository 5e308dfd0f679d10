using LlavaMod.Demo;
using System.CommandLine;
using LlavaMod.Teacher.Mining;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary>llavamod pairs mine: score sampled responses, mine chosen/rejected pairs, store them with the teacher's reference log-probs.</summary>
public static class PairsMineCommand
{
    public static Command Create(Option<string> db)
    {
        var samples = new Option<string>("--samples") { Description = "Samples folder from 'llavamod teacher sample'", Required = true };
        var teacher = new Option<string>("--teacher") { Description = "Teacher model folder: the reference of preference distillation", Required = true };
        var truth = new Option<string?>("--ground-truth") { Description = "Ground truth for the reference scorer: a demo split folder (questions.jsonl + scenes.jsonl)" };
        var scorer = new Option<string>("--scorer")
        {
            Description = "reference (against --ground-truth) or judge (the teacher answers a yes/no question per claim of each response; for data without ground truth)",
            DefaultValueFactory = _ => "reference",
        };
        scorer.AcceptOnlyFromAmong("reference", "judge");
        var judgeBatch = new Option<int>("--judge-batch") { Description = "Judge: claims per teacher forward pass", DefaultValueFactory = _ => 64 };
        var run = new Option<string>("--run") { Description = "Run name (the run's identity in the index; rerunning the same run adds nothing twice)", DefaultValueFactory = _ => "mined" };
        var mode = new Option<string>("--mode") { Description = "best-worst (chosen among the best, rejected among the worst) or all-above-gap", DefaultValueFactory = _ => "best-worst" };
        var minGap = new Option<double>("--min-gap") { Description = "Smallest score gap of a pair", DefaultValueFactory = _ => 1.0 };
        var maxPairs = new Option<int>("--max-pairs") { Description = "Most pairs per prompt", DefaultValueFactory = _ => 2 };
        var noBalance = new Option<bool>("--no-length-balance") { Description = "Do not prefer pairs of similar length among equal gaps" };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share of prompts whose pairs go to the val split", DefaultValueFactory = _ => 0.05 };
        var command = new Command("mine",
            "Score sampled responses against the ground truth (hallucinated and missed objects, exact answers) or with the teacher as judge " +
            "(claim by claim, score = -false claims), mine chosen/rejected pairs " +
            "and store them in the pair index with the teacher's summed log-probs of both responses (the pd stage's reference).")
        {
            samples, teacher, truth, scorer, judgeBatch, run, mode, minGap, maxPairs, noBalance, valFraction,
        };
        var runtime = new RuntimeOptionSet(command, precision: false); // the teacher runs only when the samples came from another model, or as judge
        var split = new WorkerOptionSet(command, "samples files (data shards); each worker writes its own --db");
        command.SetAction((parse, ct) =>
        {
            var share = split.Parse(parse);
            var policy = new PairMiningPolicy
            {
                Mode = parse.GetValue(mode) switch
                {
                    "best-worst" => PairMiningPolicy.PairingMode.BestWorst,
                    "all-above-gap" => PairMiningPolicy.PairingMode.AllAboveGap,
                    var other => throw new Core.LlavaModException($"--mode {other}: expected best-worst or all-above-gap"),
                },
                MinGap = parse.GetValue(minGap), MaxPairsPerPrompt = parse.GetValue(maxPairs), BalanceLengths = !parse.GetValue(noBalance),
            };
            var summary = MiningPass.Run(new MiningOptions
            {
                Samples = parse.GetValue(samples)!, Teacher = parse.GetValue(teacher)!, GroundTruthScorer = parse.GetValue(truth) is string truthDir ? new DemoPromptScorer(DemoGroundTruth.Load(truthDir), truthDir) : null, Db = parse.GetValue(db)!,
                Scorer = parse.GetValue(scorer) == "judge" ? MiningScorer.Judge : MiningScorer.Reference, JudgeClaimsPerForward = parse.GetValue(judgeBatch),
                RunName = parse.GetValue(run)!, Policy = policy, ValFraction = parse.GetValue(valFraction), Runtime = runtime.Parse(parse), Share = share,
            }, Console.WriteLine, ct);
            Console.WriteLine($"{summary.Prompts} prompts, {summary.Responses} responses, {summary.PairsInserted} new pairs ({summary.PromptsWithoutPair} prompts gave no pair); " +
                              (summary.ReferenceFromSamples ? "reference log-probs taken from the teacher's own samples" : "reference log-probs computed by the teacher"));
            return Task.FromResult(0);
        });
        return command;
    }
}
