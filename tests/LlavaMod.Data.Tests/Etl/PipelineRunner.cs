using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Tests.Etl;

/// <summary>Runs the shard pipeline with the fakes over test inputs.</summary>
static class PipelineRunner
{
    public static ShardJobOptions Options(TestCorpus corpus, string outDir, IEnumerable<string> inputs, int threads = 2, int blockRows = 8, int groupRows = 3) => new()
    {
        Inputs = SourceInput.Resolve(inputs, null, [corpus.Images]),
        OutputDir = outDir,
        BlockRows = blockRows,
        Format = new ShardFormat { RowGroupRows = groupRows },
        Threads = threads,
    };

    public static Task<DatasetManifest> RunAsync(ShardJobOptions options, Action<BlockRecord>? finished = null, CancellationToken ct = default) =>
        new ShardPipeline(options, new FakeEncoder(), new FakeImageStage()) { BlockFinished = finished }.RunAsync(ct);

    /// <summary>sha256 of every file under dir (relative name → hash), for byte-identity checks.</summary>
    public static SortedDictionary<string, string> FileHashes(string dir, bool includeJournal = false) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => includeJournal || !f.Contains(Path.DirectorySeparatorChar + BlockJournal.FolderName + Path.DirectorySeparatorChar))
            .ToDictionary(f => Path.GetRelativePath(dir, f), LlavaMod.Core.Hashing.Sha256OfFile), StringComparer.Ordinal);
}
