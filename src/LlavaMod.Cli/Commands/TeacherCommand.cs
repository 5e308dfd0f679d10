using System.CommandLine;
using LlavaMod.Teacher.Passes;

namespace LlavaMod.Cli.Commands;

public static class TeacherCommand
{
    public static Command Create()
    {
        var command = new Command("teacher", "Run the teacher once over prepared shards and store what the student needs from it.");
        command.Subcommands.Add(CacheLogits());
        return command;
    }

    static Command CacheLogits()
    {
        var teacher = new Option<string>("--teacher") { Description = "Teacher model folder", Required = true };
        var data = new Option<string>("--data") { Description = "Supervised data folder (from 'llavamod shard')", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Cache folder: one .logits.parquet per data shard + logit_cache.json", Required = true };
        var k = new Option<int>("--k") { Description = "Teacher log-probs kept per token (top-k) besides the tail mass", DefaultValueFactory = _ => 64 };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per forward pass", DefaultValueFactory = _ => 16 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        var threads = new Option<int>("--threads") { Description = "Torch threads (0 = one per core)", DefaultValueFactory = _ => 0 };
        var command = new Command("cache-logits",
            "Cache the teacher's output distribution at every supervised token: top-k token ids and log-probs plus the tail mass " +
            "log(1 − Σ top-k p). Aligned row for row with the data shards; rerunning skips finished shards.")
        {
            teacher, data, output, k, batchSize, device, threads,
        };
        command.SetAction((parse, ct) =>
        {
            var manifest = LogitCachePass.Run(new LogitCachePassOptions
            {
                Teacher = parse.GetValue(teacher)!, Data = parse.GetValue(data)!, Out = parse.GetValue(output)!,
                K = parse.GetValue(k), BatchSize = parse.GetValue(batchSize), Device = parse.GetValue(device)!, Threads = parse.GetValue(threads),
            }, Console.WriteLine, ct);
            Console.WriteLine($"cache: {manifest.Tokens:N0} tokens in {manifest.Shards.Count} shards, {manifest.BytesPerToken:F1} bytes/token, top-{manifest.K} covers {manifest.MeanCoveredMass:P1} of the teacher's probability");
            return Task.FromResult(0);
        });
        return command;
    }
}
