using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Cli.Commands;

/// <summary>`llavamod verify DIR`: every shard against dataset.json.</summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "Dataset folder (holds dataset.json)" };
        var deep = new Option<bool>("--deep") { Description = "Also decode every page and check every row: keys, token ids against the vocabulary, image bytes against their recorded size" };
        var command = new Command("verify",
            "Check every shard of a dataset against its manifest: presence, size, sha256, rows, schema (and dataset.json against its checksum). " +
            "Example: llavamod verify shards/ --deep");
        command.Arguments.Add(dir);
        command.Options.Add(deep);
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(dir)!;
            var manifest = DatasetManifest.Load(path);
            var problems = await DatasetVerifier.VerifyAsync(path, null, ct, parse.GetValue(deep));
            foreach (var p in problems) Console.WriteLine(p);
            if (problems.Count > 0)
                throw new LlavaModException($"{path}: {problems.Count} problem(s) in {manifest.Shards.Count} shards");
            Console.WriteLine($"ok: {manifest.Shards.Count} shards, {manifest.Rows:N0} rows match {DatasetManifest.FileName}");
            return 0;
        });
        return command;
    }
}
