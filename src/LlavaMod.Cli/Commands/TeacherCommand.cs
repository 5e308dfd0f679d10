using System.CommandLine;
using LlavaMod.Teacher.Passes;
using LlavaMod.Teacher.Sampling;

namespace LlavaMod.Cli.Commands;

public static class TeacherCommand
{
    public static Command Create()
    {
        var command = new Command("teacher", "Run the teacher once over prepared shards and store what the student needs from it.");
        command.Subcommands.Add(CacheLogits());
        command.Subcommands.Add(Sample());
        return command;
    }

    static Command Sample()
    {
        var model = new Option<string>("--model") { Description = "Model folder to sample from (the teacher, or a student for on-policy pairs)", Required = true };
        var data = new Option<string>("--data") { Description = "Supervised data folder whose prompts are answered", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Samples folder: one .samples.parquet per data shard + samples.json", Required = true };
        var n = new Option<int>("--samples") { Description = "Responses per prompt", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (0 = greedy)", DefaultValueFactory = _ => 0.7 }.Within(0, 100);
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling threshold", DefaultValueFactory = _ => 1.0 }.Within(0, 1, minInclusive: false);
        var topK = new Option<int>("--top-k") { Description = "Keep only the k most likely tokens (0 = off)", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Longest response", DefaultValueFactory = _ => 64 }.AtLeast(1);
        var seed = new Option<long>("--seed") { Description = "Base seed; each prompt's samples are seeded from (seed, row key)", DefaultValueFactory = _ => 0 };
        var only = new Option<string?>("--only-ids-ending-with") { Description = "Only rows whose id ends with this, e.g. -describe" };
        var checkShards = CheckShardsOption.Create();
        var command = new Command("sample",
            "Sample N responses per prompt with their per-token log-probs, deterministic per seed, one Parquet file per data shard; rerunning skips finished shards.\n\n" +
            "Examples:\n  llavamod teacher sample --model teacher/ --data shards/mine --out samples/\n" +
            "  llavamod teacher sample --model teacher/ --data shards/mine --out samples/w3 --worker 3 --workers 8 --device cuda\n" +
            "  llavamod merge samples/w* --out samples/all")
        {
            model, data, output, n, temperature, topP, topK, maxNew, seed, only, checkShards,
        };
        var runtime = new RuntimeOptionSet(command);
        var split = new WorkerOptionSet(command, "data shards");
        command.SetAction((parse, ct) =>
        {
            var share = split.Parse(parse);
            CheckShardsOption.Apply(parse, checkShards, [parse.GetValue(data)!]);
            var manifest = SamplingPass.Run(new SamplingOptions
            {
                Model = parse.GetValue(model)!, Data = parse.GetValue(data)!, Out = parse.GetValue(output)!, SamplesPerPrompt = parse.GetValue(n),
                Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), TopK = parse.GetValue(topK), MaxNewTokens = parse.GetValue(maxNew),
                Seed = parse.GetValue(seed), OnlyIdsEndingWith = parse.GetValue(only), Runtime = runtime.Parse(parse), Share = share,
            }, Console.WriteLine, ct);
            Console.WriteLine($"samples: {manifest.Shards.Sum(s => s.Samples):N0} responses to {manifest.Shards.Sum(s => s.Prompts):N0} prompts");
            return Task.FromResult(0);
        });
        return command;
    }

    static Command CacheLogits()
    {
        var teacher = new Option<string>("--teacher") { Description = "Teacher model folder", Required = true };
        var data = new Option<string>("--data") { Description = "Supervised data folder (from 'llavamod shard')", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Cache folder: one .logits.parquet per data shard + logit_cache.json", Required = true };
        var k = new Option<int>("--k") { Description = "Teacher log-probs kept per token (top-k) besides the tail mass", DefaultValueFactory = _ => 64 }.AtLeast(1);
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per forward pass", DefaultValueFactory = _ => 16 }.AtLeast(1);
        var checkShards = CheckShardsOption.Create();
        var command = new Command("cache-logits",
            "Cache the teacher's output distribution at every supervised token: top-k token ids and log-probs plus the tail mass " +
            "log(1 − Σ top-k p). Aligned row for row with the data shards; rerunning skips finished shards.\n\n" +
            "Examples:\n  llavamod teacher cache-logits --teacher teacher/ --data shards/train --out cache/ --k 64\n" +
            "  llavamod teacher cache-logits --teacher teacher/ --data shards/train --out cache/w3 --worker 3 --workers 8 --device cuda\n" +
            "  llavamod merge cache/w* --out cache/all")
        {
            teacher, data, output, k, batchSize, checkShards,
        };
        var runtime = new RuntimeOptionSet(command);
        var split = new WorkerOptionSet(command, "data shards");
        command.SetAction((parse, ct) =>
        {
            var share = split.Parse(parse);
            CheckShardsOption.Apply(parse, checkShards, [parse.GetValue(data)!]);
            var manifest = LogitCachePass.Run(new LogitCachePassOptions
            {
                Teacher = parse.GetValue(teacher)!, Data = parse.GetValue(data)!, Out = parse.GetValue(output)!,
                K = parse.GetValue(k), BatchSize = parse.GetValue(batchSize), Runtime = runtime.Parse(parse), Share = share,
            }, Console.WriteLine, ct);
            Console.WriteLine($"cache: {manifest.Tokens:N0} tokens in {manifest.Shards.Count} shards, {manifest.BytesPerToken:F1} bytes/token, top-{manifest.K} covers {manifest.MeanCoveredMass:P1} of the teacher's probability");
            return Task.FromResult(0);
        });
        return command;
    }
}
