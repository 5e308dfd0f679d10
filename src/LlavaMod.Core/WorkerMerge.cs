using System.Text.Json.Nodes;

namespace LlavaMod.Core;

/// <summary>What a worker of a split job records in its output's manifest: its index, the number of
/// workers and the units it owns (data shard files, or pair batches by their first pair id), in order.</summary>
public sealed record WorkerPart(int Worker, int Workers, IReadOnlyList<string> Units)
{
    public static WorkerPart Of(WorkerShare share, IReadOnlyList<string> allUnits) => new(share.Index, share.Count, share.Take(allUnits));

    public bool Equals(WorkerPart? other) =>
        other is not null && Worker == other.Worker && Workers == other.Workers && Units.SequenceEqual(other.Units);

    public override int GetHashCode() => HashCode.Combine(Worker, Workers, Units.Count);
}

/// <summary>One worker's output as a merge sees it: where it is, its part, its settings (JSON with
/// everything that must be equal across workers) and the units it has finished.</summary>
public sealed record WorkerOutput(string Path, WorkerPart? Part, string SettingsJson, IReadOnlyCollection<string> FinishedUnits);

/// <summary>
/// The checks every merge makes before it joins anything, and the order it joins in: the outputs
/// are workers of one job (same settings, model and data, each index once, none missing, each
/// finished), and unit j of the whole job is unit j / n of worker j mod n: the order one process
/// would have written them in.
/// </summary>
public static class WorkerMerge
{
    /// <summary>Checks the outputs; returns, in single-process order, which output holds each unit.</summary>
    public static IReadOnlyList<(WorkerOutput Output, string Unit)> Plan(IReadOnlyList<WorkerOutput> outputs, string what)
    {
        if (outputs.Count == 0) throw new LlavaModException($"nothing to merge: no {what} given");
        foreach (var o in outputs)
            if (o.Part is null)
                throw LlavaModException.ForFile(o.Path, $"is a {what} made by one process (no --worker/--workers): it is complete already, nothing to merge");
        var first = outputs[0];
        int n = first.Part!.Workers;
        foreach (var o in outputs.Skip(1))
        {
            if (o.Part!.Workers != n)
                throw LlavaModException.ForFile(o.Path, $"is worker {o.Part.Worker} of {o.Part.Workers}, but {first.Path} is worker {first.Part.Worker} of {n}: outputs of different splits");
            var differences = Differences(first.SettingsJson, o.SettingsJson);
            if (differences.Count > 0)
                throw LlavaModException.ForFile(o.Path, $"(worker {o.Part.Worker}) was made with other settings, model or data than {first.Path} (worker {first.Part.Worker}): " +
                    string.Join("; ", differences) + "; only outputs of one job merge");
        }
        var byIndex = new Dictionary<int, WorkerOutput>();
        foreach (var o in outputs)
            if (!byIndex.TryAdd(o.Part!.Worker, o))
                throw LlavaModException.ForFile(o.Path, $"is worker {o.Part.Worker} again (also {byIndex[o.Part.Worker].Path}): give each worker's output once");
        var missing = Enumerable.Range(0, n).Where(i => !byIndex.ContainsKey(i)).ToList();
        if (missing.Count > 0)
            throw new LlavaModException($"worker{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} of {n} missing: give the output of every worker of the job");
        foreach (var o in outputs)
        {
            var unfinished = o.Part!.Units.Where(u => !o.FinishedUnits.Contains(u)).ToList();
            if (unfinished.Count > 0)
                throw LlavaModException.ForFile(o.Path, $"(worker {o.Part.Worker}) is not finished: {unfinished.Count} of {o.Part.Units.Count} units missing " +
                    $"({string.Join(", ", unfinished.Take(3))}{(unfinished.Count > 3 ? ", …" : "")}); rerun that worker, it resumes");
        }

        int total = outputs.Sum(o => o.Part!.Units.Count);
        var plan = new List<(WorkerOutput, string)>(total);
        for (int j = 0; j < total; j++)
        {
            var owner = byIndex[j % n];
            if (j / n >= owner.Part!.Units.Count)
                throw LlavaModException.ForFile(owner.Path, $"(worker {j % n}) lists {owner.Part.Units.Count} units; a split of {total} units into {n} gives it more");
            plan.Add((owner, owner.Part.Units[j / n]));
        }
        return plan;
    }

    /// <summary>The top-level keys whose values differ between two JSON objects, with both values (shortened).</summary>
    public static IReadOnlyList<string> Differences(string a, string b)
    {
        var left = JsonNode.Parse(a)!.AsObject();
        var right = JsonNode.Parse(b)!.AsObject();
        var keys = left.Select(p => p.Key).Union(right.Select(p => p.Key)).ToList();
        return keys.Where(k => !JsonNode.DeepEquals(left[k], right[k]))
            .Select(k => $"{k} {Short(left[k])} vs {Short(right[k])}").ToList();
    }

    static string Short(JsonNode? node)
    {
        string text = node?.ToJsonString() ?? "(absent)";
        return text.Length <= 24 ? text : text[..20] + "…";
    }
}
