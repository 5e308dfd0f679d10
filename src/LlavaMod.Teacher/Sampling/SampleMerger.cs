using LlavaMod.Core;

namespace LlavaMod.Teacher.Sampling;

/// <summary>
/// Joins the samples folders of the workers of a split <c>teacher sample</c> job into the folder one
/// process writes: the same files, byte for byte, and the same samples.json. Refuses folders made
/// with another model, other sampling settings or another dataset, a missing or unfinished worker,
/// and a file whose sha256 is not the one its worker recorded.
/// </summary>
public static class SampleMerger
{
    public static SampleManifest Merge(IReadOnlyList<string> workerDirs, string outDir, Action<string>? log = null, CancellationToken ct = default)
    {
        var outputs = workerDirs.Select(dir =>
        {
            var manifest = SampleManifest.Load(dir);
            var finished = manifest.Shards.Where(s => File.Exists(Path.Combine(dir, s.File))).Select(s => s.DataShard).ToHashSet();
            return (Dir: dir, Manifest: manifest, Output: new WorkerOutput(dir, manifest.Worker, Json.Serialize(manifest with { Worker = null, Shards = [] }), finished));
        }).ToList();
        var plan = WorkerMerge.Plan(outputs.Select(o => o.Output).ToList(), "samples folder");
        MergeOutput.RequireNotAnInput(outDir, workerDirs);

        using var outputLock = OutputLock.ForFolder(outDir);
        AtomicFile.CleanStaleTempFiles(outDir);
        var shards = new List<SampleShard>(plan.Count);
        foreach (var (output, dataShard) in plan)
        {
            ct.ThrowIfCancellationRequested();
            var entry = outputs.First(o => o.Dir == output.Path).Manifest.Shards.First(s => s.DataShard == dataShard);
            MergeOutput.CopyChecked(Path.Combine(output.Path, entry.File), Path.Combine(outDir, entry.File), entry.Sha256);
            shards.Add(entry);
        }
        var merged = outputs[0].Manifest with { Worker = null, Shards = shards };
        merged.Save(outDir);
        log?.Invoke($"merged {outputs.Count} workers: {shards.Count} samples files, {shards.Sum(s => s.Samples):N0} responses");
        return merged;
    }
}
