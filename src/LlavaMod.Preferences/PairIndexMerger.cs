using System.Text.Json.Nodes;
using Dapper;
using LlavaMod.Core;

namespace LlavaMod.Preferences;

/// <summary>
/// Joins the pair indexes of the workers of a split <c>pairs mine</c> or <c>pairs reference</c> job
/// into the pair index one process writes: the same runs, prompts, responses and pairs, with the same
/// ids and values, in the same order. Mined rows are copied unit by unit (data shard j from worker
/// j mod n) with their ids shifted into one sequence, as one process would have numbered them; for
/// reference workers (each a copy of the same pair index with its own batches filled) the first
/// copy takes the others' reference log-probs and token ids. The result is written beside the
/// output and renamed into place when complete.
/// </summary>
public static class PairIndexMerger
{
    public const string MineVerb = "pairs mine", ReferenceVerb = "pairs reference";

    public static void Merge(IReadOnlyList<string> dbs, string output, Action<string>? log = null, CancellationToken ct = default)
    {
        var workers = new List<(string Path, PairWorkerInfo? Info, IReadOnlyList<PairWorkerUnit> Units)>();
        foreach (var db in dbs)
        {
            using var store = PairStore.Open(db, readOnly: true);
            workers.Add((Path.GetFullPath(db), store.WorkerInfo(), store.FinishedWorkerUnits()));
        }
        var plan = WorkerMerge.Plan(workers.Select(w => new WorkerOutput(w.Path, w.Info?.Part, SettingsWithVerb(w.Info),
            w.Units.Select(u => u.Unit).ToHashSet())).ToList(), "pair index");
        MergeOutput.RequireNotAnInput(output, dbs);
        string verb = workers[0].Info!.Verb;
        // reference workers fill copies of one source: the merge may fill that source itself (what a split pipeline does)
        bool fillsSource = verb == ReferenceVerb && SourceOf(workers[0].Info) == Path.GetFullPath(output);
        if (!fillsSource && File.Exists(output) && new FileInfo(output).Length > 0)
            throw LlavaModException.ForFile(output, "exists; a merge writes a new pair index: choose a new --out or remove it");

        using var outputLock = OutputLock.ForFile(output);
        if (fillsSource) RequireUnchangedSource(output, workers[0].Path);
        string temp = Path.GetFullPath(output) + AtomicFile.TempMarker + "merge";
        foreach (var stale in new[] { temp, temp + "-wal", temp + "-shm" }) File.Delete(stale);
        if (verb == MineVerb) MergeMined(plan, workers.ToDictionary(w => w.Path, w => w.Units), temp, ct);
        else if (verb == ReferenceVerb) MergeReference(workers.Select(w => w.Path).ToList(), temp, ct);
        else throw LlavaModException.ForFile(workers[0].Path, $"is the output of '{verb}', which this build does not merge");
        File.Move(temp, output, overwrite: true);
        using var merged = PairStore.Open(output, readOnly: true);
        var counts = merged.Verify().Counts;
        log?.Invoke($"merged {workers.Count} '{verb}' workers: {counts["prompts"]:N0} prompts, {counts["responses"]:N0} responses, {counts["pairs"]:N0} pairs");
    }

    /// <summary>The pair index a reference worker copied (its recorded --db).</summary>
    static string? SourceOf(PairWorkerInfo? info) =>
        info is null ? null : JsonNode.Parse(info.SettingsJson)?["source"]?.GetValue<string>();

    /// <summary>Refuses to replace a source that gained or lost rows since the workers copied it: they would be lost or come back.</summary>
    static void RequireUnchangedSource(string source, string worker)
    {
        using var a = PairStore.Open(source, readOnly: true);
        using var b = PairStore.Open(worker, readOnly: true);
        var (now, copied) = (a.Verify().Counts, b.Verify().Counts);
        foreach (var table in new[] { "prompts", "responses", "pairs" })
            if (now[table] != copied[table])
                throw LlavaModException.ForFile(source, $"has {now[table]:N0} {table} but the reference workers copied it with {copied[table]:N0}: it changed since; merge into a new --out, or rerun the workers");
    }

    static string SettingsWithVerb(PairWorkerInfo? info)
    {
        if (info is null) return "{}";
        var settings = JsonNode.Parse(info.SettingsJson)!.AsObject();
        settings["verb"] = info.Verb;
        return settings.ToJsonString();
    }

    /// <summary>Unit by unit in single-process order: the unit's rows (ids after the worker's previous
    /// unit, up to the ids recorded with it) appended with ids continuing the merged sequence.</summary>
    static void MergeMined(IReadOnlyList<(WorkerOutput Output, string Unit)> plan, Dictionary<string, IReadOnlyList<PairWorkerUnit>> units, string temp, CancellationToken ct)
    {
        using var store = PairStore.Open(temp);
        var first = plan[0].Output.Path;
        store.WithAttached(first, s => s.Execute("INSERT INTO runs SELECT * FROM w.runs ORDER BY id"));
        string runs = store.Query<string>(RunsSql(""));
        foreach (var path in units.Keys)
            store.WithAttached(path, s =>
            {
                if (s.Query<string>(RunsSql("w.")) != runs)
                    throw LlavaModException.ForFile(path, $"holds other runs than {first}; a mine worker's file holds its one run");
            });

        foreach (var (output, unit) in plan)
        {
            ct.ThrowIfCancellationRequested();
            var part = output.Part!;
            var own = units[output.Path].ToDictionary(u => u.Unit);
            int position = part.Units.ToList().IndexOf(unit);
            var before = position == 0 ? new PairWorkerUnit("", 0, 0, 0) : own[part.Units[position - 1]];
            var after = own[unit];
            store.WithAttached(output.Path, s => s.InTransaction(t =>
            {
                long prompts = t.Query<long>("SELECT ifnull(max(id), 0) FROM prompts"), responses = t.Query<long>("SELECT ifnull(max(id), 0) FROM responses"),
                     pairs = t.Query<long>("SELECT ifnull(max(id), 0) FROM pairs");
                var shift = new { pLo = before.LastPromptId, pHi = after.LastPromptId, pBase = prompts, rLo = before.LastResponseId, rHi = after.LastResponseId,
                                  rBase = responses, xLo = before.LastPairId, xHi = after.LastPairId, xBase = pairs };
                Require(output.Path, unit, "prompts", after.LastPromptId - before.LastPromptId, t.Execute(
                    """
                    INSERT INTO prompts (id, run_id, prompt_key, text, token_ids, image_key, image_path, meta_json)
                    SELECT id - @pLo + @pBase, run_id, prompt_key, text, token_ids, image_key, image_path, meta_json
                    FROM w.prompts WHERE id > @pLo AND id <= @pHi ORDER BY id
                    """, shift));
                Require(output.Path, unit, "responses", after.LastResponseId - before.LastResponseId, t.Execute(
                    """
                    INSERT INTO responses (id, prompt_id, text_sha256, text, token_ids, token_count, score, claims_json, sampler_logp)
                    SELECT id - @rLo + @rBase, prompt_id - @pLo + @pBase, text_sha256, text, token_ids, token_count, score, claims_json, sampler_logp
                    FROM w.responses WHERE id > @rLo AND id <= @rHi ORDER BY id
                    """, shift));
                Require(output.Path, unit, "pairs", after.LastPairId - before.LastPairId, t.Execute(
                    """
                    INSERT INTO pairs (id, run_id, prompt_id, chosen_id, rejected_id, chosen_score, rejected_score, gap, severity,
                                       ref_chosen_logp, ref_chosen_tokens, ref_rejected_logp, ref_rejected_tokens, length, split, source)
                    SELECT id - @xLo + @xBase, run_id, prompt_id - @pLo + @pBase, chosen_id - @rLo + @rBase, rejected_id - @rLo + @rBase,
                           chosen_score, rejected_score, gap, severity, ref_chosen_logp, ref_chosen_tokens, ref_rejected_logp, ref_rejected_tokens, length, split, source
                    FROM w.pairs WHERE id > @xLo AND id <= @xHi ORDER BY id
                    """, shift));
            }));
        }
    }

    static string RunsSql(string schema) =>
        $"SELECT json_group_array(json_array(id, name, teacher, teacher_version, sampler, sampler_version, scorer, scorer_version, settings_json, tokenizer_fingerprint)) FROM (SELECT * FROM {schema}runs ORDER BY id)";

    static void Require(string path, string unit, string table, long expected, int copied)
    {
        if (copied != expected)
            throw LlavaModException.ForFile(path, $"unit {unit}: {copied} {table} where its worker recorded {expected}; the file was changed after the worker wrote it");
    }

    /// <summary>Reference workers each hold a copy of the same pair index with their own batches
    /// filled: the first copy takes every value the others filled (values are only ever filled, never replaced).</summary>
    static void MergeReference(IReadOnlyList<string> paths, string temp, CancellationToken ct)
    {
        PairStore.Copy(paths[0], temp);
        using var store = PairStore.Open(temp);
        store.DropWorkerTables();
        foreach (var path in paths.Skip(1))
        {
            ct.ThrowIfCancellationRequested();
            store.WithAttached(path, s => s.InTransaction(t => t.Execute(
                """
                UPDATE pairs SET ref_chosen_logp = w.ref_chosen_logp, ref_chosen_tokens = w.ref_chosen_tokens,
                                 ref_rejected_logp = w.ref_rejected_logp, ref_rejected_tokens = w.ref_rejected_tokens
                FROM w.pairs AS w WHERE pairs.id = w.id AND (pairs.ref_chosen_logp IS NULL OR pairs.ref_rejected_logp IS NULL)
                  AND w.ref_chosen_logp IS NOT NULL AND w.ref_rejected_logp IS NOT NULL;
                UPDATE pairs SET length = w.length FROM w.pairs AS w WHERE pairs.id = w.id AND pairs.length IS NULL AND w.length IS NOT NULL;
                UPDATE prompts SET token_ids = w.token_ids FROM w.prompts AS w
                WHERE prompts.id = w.id AND prompts.token_ids IS NULL AND w.token_ids IS NOT NULL;
                UPDATE responses SET token_ids = w.token_ids, token_count = w.token_count FROM w.responses AS w
                WHERE responses.id = w.id AND responses.token_ids IS NULL AND w.token_ids IS NOT NULL;
                UPDATE runs SET tokenizer_fingerprint = w.tokenizer_fingerprint FROM w.runs AS w
                WHERE runs.id = w.id AND runs.tokenizer_fingerprint IS NULL AND w.tokenizer_fingerprint IS NOT NULL;
                """)));
        }
    }
}
