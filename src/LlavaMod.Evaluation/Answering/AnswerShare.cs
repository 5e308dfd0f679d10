using LlavaMod.Core;
using LlavaMod.Evaluation.Formats;

namespace LlavaMod.Evaluation.Answering;

/// <summary>
/// What a split <c>eval answer</c> worker records beside its answers (<c>A.jsonl.worker.json</c>): its share, what
/// it answers (the question source and a fingerprint of every setting that changes an answer) and the question ids
/// it was given, in question-file order, with those skipped for a missing image. 'llavamod merge' checks the
/// workers against each other with it and puts the answers back in question-file order (<see cref="AnswerMerger"/>).
/// </summary>
public sealed record AnswerShare(int Worker, int Workers, string Source, string Settings, IReadOnlyList<string> Assigned, IReadOnlyList<string> Skipped)
{
    public static string PathFor(string answers) => answers + ".worker.json";

    public static AnswerShare? Read(string answers) =>
        File.Exists(PathFor(answers)) ? Json.ReadFile<AnswerShare>(PathFor(answers)) : null;

    /// <summary>Records the share before the first answer; a rerun with other settings or another share is refused.</summary>
    public void WriteOrCheck(string answers)
    {
        if (Read(answers) is { } existing)
        {
            if (existing.Worker != Worker || existing.Workers != Workers || existing.Source != Source || existing.Settings != Settings)
                throw LlavaModException.ForFile(answers, $"was written as worker {existing.Worker} of {existing.Workers} with other settings or questions; " +
                    "choose another --out, or rerun with the same options");
            return;
        }
        Json.WriteFileAtomic(PathFor(answers), this);
    }
}

/// <summary>
/// Joins the answer files of split <c>eval answer</c> workers into what one process writes: the same lines, in
/// question-file order (question k was worker k mod n's (k div n)-th), refusing workers of other settings or
/// questions, a missing or repeated worker, and a worker that has not answered all its questions.
/// </summary>
public static class AnswerMerger
{
    public static void Merge(IReadOnlyList<string> inputs, string output, Action<string> log)
    {
        var shares = inputs.Select(path => (Path: path, Share: AnswerShare.Read(path)
            ?? throw LlavaModException.ForFile(path, $"has no {System.IO.Path.GetFileName(AnswerShare.PathFor(path))}: it is not the answers of a split 'eval answer' worker"))).ToList();
        var first = shares[0].Share;
        foreach (var (path, share) in shares)
        {
            if (share.Workers != first.Workers || share.Source != first.Source || share.Settings != first.Settings)
                throw LlavaModException.ForFile(path, $"was answered with other settings, questions or worker count than {shares[0].Path}: merge the workers of one job");
        }
        var byWorker = shares.GroupBy(s => s.Share.Worker).ToDictionary(g => g.Key, g => g.ToList());
        if (byWorker.Values.FirstOrDefault(g => g.Count > 1) is { } twice)
            throw LlavaModException.ForFile(twice[1].Path, $"is worker {twice[1].Share.Worker} again (also {twice[0].Path})");
        var missing = Enumerable.Range(0, first.Workers).Where(w => !byWorker.ContainsKey(w)).ToList();
        if (missing.Count > 0)
            throw new LlavaModException($"worker {string.Join(", ", missing)} of {first.Workers} missing: merge needs every worker's answers");

        var lines = new List<Dictionary<string, string>>();
        for (int w = 0; w < first.Workers; w++)
        {
            var (path, share) = byWorker[w][0];
            var answered = JsonLines.Read(path).Zip(File.ReadAllLines(path).Where(l => l.Trim().Length > 0))
                .ToDictionary(x => x.First.RequiredId("question_id"), x => x.Second);
            var expected = share.Assigned.Except(share.Skipped).ToList();
            int done = expected.Count(answered.ContainsKey);
            if (done < expected.Count)
                throw LlavaModException.ForFile(path, $"worker {w} of {first.Workers} is unfinished: {done} of {expected.Count} questions answered; rerun it with the same options");
            lines.Add(answered);
        }
        var merged = new List<string>();
        int total = shares.Sum(s => s.Share.Assigned.Count);
        for (int k = 0; k < total; k++)
        {
            var share = byWorker[k % first.Workers][0].Share;
            string id = share.Assigned[k / first.Workers];
            if (lines[k % first.Workers].TryGetValue(id, out var line)) merged.Add(line); // absent: skipped for a missing image
        }
        AtomicFile.WriteAllText(output, string.Concat(merged.Select(l => l + "\n")));
        log($"answers: {merged.Count:N0} from {first.Workers} workers -> {output}");
    }
}
