using System.CommandLine;
using LlavaMod.Data.Shards;

namespace LlavaMod.Cli.Commands;

/// <summary>--check-shards, shared by the verbs that read shards with a model.</summary>
public static class CheckShardsOption
{
    public static Option<bool> Create() => new("--check-shards")
    {
        Description = "Before any work, check every shard's sha256 against dataset.json (reads the shards once more; sizes are always checked)",
    };

    public static void Apply(ParseResult parse, Option<bool> option, IEnumerable<string> dataDirs)
    {
        if (parse.GetValue(option)) ShardsBeforeUse.RequireHashes(dataDirs);
    }
}
