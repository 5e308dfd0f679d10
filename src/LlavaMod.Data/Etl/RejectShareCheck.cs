using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Etl;

/// <summary>
/// A run that keeps no row, or rejects more than a share of its rows, is an error: a wrong
/// --image-root or template turns every row into a reject, and a 0-row dataset with exit 0 lets a
/// pipeline run on into training. Checked after rejects.jsonl is written and before dataset.json, so
/// the folder is not taken for a finished dataset; the message names the top reasons, one example
/// and the rejects file.
/// </summary>
public static class RejectShareCheck
{
    public const double DefaultMaxShare = 0.5;

    public static void Require(DatasetManifest manifest, string outDir, double maxShare, IEnumerable<RejectRecord> rejects)
    {
        var s = manifest.Statistics;
        long source = manifest.SourceRows;
        if (source == 0)
            throw LlavaModException.ForFile(outDir, "the inputs hold no rows; nothing was written");
        double share = (double)s.Rejected / source;
        if (s.Rows > 0 && share <= maxShare) return;
        string top = string.Join(", ", s.RejectsByReason.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(3).Select(kv => $"{kv.Key} {kv.Value:N0}"));
        var example = rejects.FirstOrDefault();
        string e = example is null ? "" : $"; e.g. {example.Source} row {example.SourceRow}: {example.Message}";
        string rejectsFile = Path.Combine(outDir, "rejects.jsonl");
        string what = s.Rows == 0
            ? $"no row was accepted: {s.Rejected:N0} of {source:N0} source rows rejected ({top}), {s.DuplicatesDropped:N0} duplicates"
            : $"{s.Rejected:N0} of {source:N0} source rows rejected ({share:P0}, above --max-reject-share {maxShare:0.##}: {top})";
        throw LlavaModException.ForFile(outDir,
            $"{what}{e}; every reject is listed in {rejectsFile}. No dataset.json was written; fix the input (image root, paths, template) and rerun into an empty folder" +
            (s.Rows == 0 ? "" : ", or raise --max-reject-share and rerun with --resume"));
    }
}
