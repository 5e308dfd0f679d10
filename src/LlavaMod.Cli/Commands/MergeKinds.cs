using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using LlavaMod.Evaluation.Answering;
using LlavaMod.LogitCache;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Sampling;

namespace LlavaMod.Cli.Commands;

/// <summary>One kind of worker output that 'llavamod merge' joins: how it is recognised and merged.</summary>
/// <param name="Name">What the kind is called in messages.</param>
/// <param name="Recognises">True when the path is an output of this kind (by its manifest).</param>
/// <param name="MergeAsync">Joins the worker outputs into --out (null: the kind's default) and prints a summary.</param>
public sealed record MergeKind(string Name, Func<string, bool> Recognises, Func<IReadOnlyList<string>, string?, MergeSettings, CancellationToken, Task> MergeAsync);

/// <summary>Options of 'llavamod merge' that only some kinds use.</summary>
public sealed record MergeSettings(double MaxRejectShare);

/// <summary>The kinds 'llavamod merge' knows, tried in order; a new kind of worker output is one more entry.</summary>
public static class MergeKinds
{
    public static readonly IReadOnlyList<MergeKind> All =
    [
        new("data shards", path => Directory.Exists(path) && Directory.EnumerateFiles(path, "worker-*-of-*.json").Any(),
            async (inputs, output, settings, ct) =>
            {
                var manifest = await DatasetMerger.MergeAsync(inputs, output ?? inputs[0], Console.WriteLine, ct, settings.MaxRejectShare);
                Etl.ShardSummary.Print(manifest);
            }),
        new("logit cache", path => File.Exists(Path.Combine(path, LogitCacheManifest.FileName)),
            (inputs, output, _, ct) => Run(() => LogitCacheMerger.Merge(inputs, Required(output, "logit cache"), Console.WriteLine, ct))),
        new("samples folder", path => File.Exists(Path.Combine(path, SampleManifest.FileName)),
            (inputs, output, _, ct) => Run(() => SampleMerger.Merge(inputs, Required(output, "samples folder"), Console.WriteLine, ct))),
        new("answer file", path => File.Exists(AnswerShare.PathFor(path)),
            (inputs, output, _, ct) => Run(() => AnswerMerger.Merge(inputs, Required(output, "answer file"), Console.WriteLine))),
        new("pair index", IsPairIndex,
            (inputs, output, _, ct) => Run(() => PairIndexMerger.Merge(inputs, Required(output, "pair index"), Console.WriteLine, ct))),
    ];

    /// <summary>The one kind all <paramref name="inputs"/> are; a clear error for an unknown path or a mix.</summary>
    public static MergeKind Of(IReadOnlyList<string> inputs)
    {
        var kinds = inputs.Select(path => (Path: path, Kind: All.FirstOrDefault(k => k.Recognises(path))
            ?? throw LlavaModException.ForFile(path, File.Exists(path) || Directory.Exists(path)
                ? $"is not a worker output 'llavamod merge' knows (data shards with worker-*-of-*.json, a logit cache with {LogitCacheManifest.FileName}, a samples folder with {SampleManifest.FileName}, the answers of split 'eval answer' workers, a pair index)"
                : "not found"))).ToList();
        var mixed = kinds.FirstOrDefault(k => k.Kind != kinds[0].Kind);
        if (mixed.Path is not null)
            throw LlavaModException.ForFile(mixed.Path, $"is a {mixed.Kind.Name}, but {kinds[0].Path} is a {kinds[0].Kind.Name}: merge one kind at a time");
        return kinds[0].Kind;
    }

    static bool IsPairIndex(string path)
    {
        if (!File.Exists(path)) return false;
        Span<byte> header = stackalloc byte[16];
        using (var stream = File.OpenRead(path))
            if (stream.Read(header) < 16 || !header.SequenceEqual("SQLite format 3\0"u8)) return false;
        return true;
    }

    static string Required(string? output, string kind) =>
        output ?? throw new LlavaModException($"merging a {kind} needs --out (a new folder or file for the joined output)");

    static Task Run(Action merge)
    {
        merge();
        return Task.CompletedTask;
    }
}
