using LlavaMod.Core;
using LlavaMod.LogitCache;
using LlavaMod.Teacher.Sampling;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Cli.Tests.Cluster;

/// <summary>
/// The teacher pass split across 3 workers that run as concurrent processes, joined by
/// 'llavamod merge', gives exactly what one process writes: the same bytes for logit caches and
/// samples, the same rows (ids, values, order) for pair indexes; a worker killed with SIGKILL and
/// restarted changes nothing.
/// </summary>
public sealed class TeacherPassWorkerTests(ClusterWorkspace workspace) : IClassFixture<ClusterWorkspace>
{
    const int N = ClusterWorkspace.Workers;

    static string[] Split(IEnumerable<string> args, int worker) => [.. args, "--worker", worker.ToString(), "--workers", N.ToString()];

    string[] CacheArgs(string output, int k = 8) =>
        ["teacher", "cache-logits", "--teacher", workspace.Teacher, "--data", workspace.TrainShards, "--out", output, "--k", k.ToString(), "--threads", "1"];

    static void Merge(IEnumerable<string> inputs, string output) =>
        ClusterWorkspace.Run(["merge", .. inputs, "--out", output]).EnsureSuccess();

    [Fact]
    public void Logit_caches_of_three_concurrent_workers_merge_to_the_bytes_of_one_process()
    {
        string dir = workspace.NewDir("cache");
        ClusterWorkspace.Run(CacheArgs(Path.Combine(dir, "single"))).EnsureSuccess();
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}")).ToList();
        foreach (var r in ClusterWorkspace.RunConcurrently(N, i => Split(CacheArgs(workers[i]), i))) r.EnsureSuccess();

        // Each worker cached the data shards with index mod 3 = its own, and only those.
        var dataShards = Data.Shards.DatasetManifest.Load(workspace.TrainShards).Shards.Select(s => s.File).ToList();
        Assert.True(dataShards.Count >= 5, $"{dataShards.Count} data shards: too few to split");
        for (int i = 0; i < N; i++)
            Assert.Equal(dataShards.Where((_, j) => j % N == i), LogitCacheManifest.Load(workers[i]).Shards.Select(s => s.DataShard));

        Merge(workers, Path.Combine(dir, "merged"));
        ClusterWorkspace.AssertSameFiles(Path.Combine(dir, "single"), Path.Combine(dir, "merged"));
    }

    [Fact]
    public void Samples_of_three_concurrent_workers_merge_to_the_bytes_of_one_process()
    {
        string dir = workspace.NewDir("samples");
        ClusterWorkspace.Run(workspace.SampleArgs(Path.Combine(dir, "single"))).EnsureSuccess();
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}")).ToList();
        foreach (var r in ClusterWorkspace.RunConcurrently(N, i => Split(workspace.SampleArgs(workers[i]), i))) r.EnsureSuccess();
        Assert.All(workers, w => Assert.Equal(3, SampleManifest.Load(w).Shards.Count)); // 9 data shards, 3 each

        Merge(workers, Path.Combine(dir, "merged"));
        ClusterWorkspace.AssertSameFiles(Path.Combine(dir, "single"), Path.Combine(dir, "merged"));
    }

    string[] MineArgs(string db) =>
        ["pairs", "mine", "--db", db, "--samples", workspace.Samples, "--teacher", workspace.Teacher, "--ground-truth", Path.Combine(workspace.Raw, "mine"), "--val-fraction", "0.2"];

    [Fact]
    public void Pair_indexes_of_three_concurrent_mining_workers_merge_to_the_rows_of_one_process()
    {
        string dir = workspace.NewDir("mine"), single = Path.Combine(dir, "single.sqlite"), merged = Path.Combine(dir, "merged.sqlite");
        ClusterWorkspace.Run(MineArgs(single)).EnsureSuccess();
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}.sqlite")).ToList();
        foreach (var r in ClusterWorkspace.RunConcurrently(N, i => Split(MineArgs(workers[i]), i))) r.EnsureSuccess();

        Merge(workers, merged);
        Assert.True(Rows(single, "pairs").Count > 0, "the demo mined no pair: nothing was compared");
        AssertSameRows(single, merged);
    }

    string[] ReferenceArgs(string db) =>
        ["pairs", "reference", "--db", db, "--teacher", workspace.Teacher, "--image-root", Path.Combine(workspace.Raw, "mine"), "--batch-size", "4", "--threads", "1"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pair_indexes_of_three_concurrent_reference_workers_merge_to_the_rows_of_one_process(bool killOne)
    {
        string dir = workspace.NewDir("reference"), source = Path.Combine(dir, "source.sqlite"), single = Path.Combine(dir, "single.sqlite");
        ClusterWorkspace.Run(["pairs", "import", "--db", source, workspace.ImportFile()]).EnsureSuccess();
        File.Copy(source, single);
        ClusterWorkspace.Run(ReferenceArgs(single)).EnsureSuccess();
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}.sqlite")).ToList();
        string[] Worker(int i) => [.. Split(ReferenceArgs(source), i), "--out", workers[i]];
        if (killOne)
        {
            // Worker 2 kills itself with SIGKILL after committing its third batch of pairs, then runs again from its own copy.
            Assert.Equal(137, ClusterWorkspace.Run(Worker(2), new Dictionary<string, string> { [FaultPoint.Variable] = "batch:3" }).Code);
            foreach (var r in ClusterWorkspace.RunConcurrently(2, Worker)) r.EnsureSuccess();
            var early = ClusterWorkspace.Run(["merge", .. workers, "--out", Path.Combine(dir, "early.sqlite")]);
            Assert.Equal(1, early.Code);
            Assert.Contains("(worker 2) is not finished", early.Output);
            ClusterWorkspace.Run(Worker(2)).EnsureSuccess();
        }
        else
            foreach (var r in ClusterWorkspace.RunConcurrently(N, Worker)) r.EnsureSuccess();

        string merged = Path.Combine(dir, "merged.sqlite");
        Merge(workers, merged);
        var pairs = Rows(single, "pairs");
        Assert.True(pairs.Count > 20, $"{pairs.Count} pairs");
        Assert.DoesNotContain(Rows(merged, "pairs", "ref_chosen_logp"), row => row[0] == "NULL");
        AssertSameRows(single, merged);
    }

    [Fact]
    public void A_cache_worker_killed_with_SIGKILL_and_restarted_merges_to_the_same_bytes()
    {
        string dir = workspace.NewDir("kill-cache");
        ClusterWorkspace.Run(CacheArgs(Path.Combine(dir, "single"))).EnsureSuccess();
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}")).ToList();
        // Worker 0 owns data shards 0 and 3; it kills itself with SIGKILL after the first.
        var killed = ClusterWorkspace.Run(Split(CacheArgs(workers[0]), 0), new Dictionary<string, string> { [FaultPoint.Variable] = "shard:1" });
        Assert.Equal(137, killed.Code);
        foreach (var i in new[] { 1, 2 }) ClusterWorkspace.Run(Split(CacheArgs(workers[i]), i)).EnsureSuccess();

        var early = ClusterWorkspace.Run(["merge", .. workers, "--out", Path.Combine(dir, "early")]);
        Assert.Equal(1, early.Code);
        Assert.Contains("(worker 0) is not finished: 1 of 2 units missing", early.Output);

        ClusterWorkspace.Run(Split(CacheArgs(workers[0]), 0)).EnsureSuccess();
        Merge(workers, Path.Combine(dir, "merged"));
        ClusterWorkspace.AssertSameFiles(Path.Combine(dir, "single"), Path.Combine(dir, "merged"));
    }

    [Fact]
    public void A_mining_worker_killed_with_SIGKILL_and_restarted_merges_to_the_same_rows()
    {
        string dir = workspace.NewDir("kill-mine"), single = Path.Combine(dir, "single.sqlite"), merged = Path.Combine(dir, "merged.sqlite");
        ClusterWorkspace.Run(MineArgs(single)).EnsureSuccess();
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}.sqlite")).ToList();
        var killed = ClusterWorkspace.Run(Split(MineArgs(workers[1]), 1), new Dictionary<string, string> { [FaultPoint.Variable] = "shard:2" });
        Assert.Equal(137, killed.Code);
        foreach (var i in new[] { 0, 2, 1 }) ClusterWorkspace.Run(Split(MineArgs(workers[i]), i)).EnsureSuccess();

        Merge(workers, merged);
        AssertSameRows(single, merged);
    }

    [Fact]
    public void Two_workers_started_with_the_same_index_leave_the_output_of_one()
    {
        string dir = workspace.NewDir("same-index"), once = Path.Combine(dir, "once"), twice = Path.Combine(dir, "twice");
        ClusterWorkspace.Run(Split(CacheArgs(once), 1)).EnsureSuccess();
        var both = ClusterWorkspace.RunConcurrently(2, _ => Split(CacheArgs(twice), 1));
        // Whichever started second either found the output locked and stopped, or started after the first finished and found nothing left to do.
        Assert.Contains(both, r => r.Code == 0);
        Assert.All(both.Where(r => r.Code != 0), r => Assert.Contains("is being written by another llavamod process", r.Output));
        ClusterWorkspace.AssertSameFiles(once, twice);
    }

    [Fact]
    public void Merge_refuses_a_missing_worker_other_settings_and_a_mix_of_kinds_naming_them()
    {
        string dir = workspace.NewDir("refuse");
        var workers = Enumerable.Range(0, N).Select(i => Path.Combine(dir, $"w{i}")).ToList();
        foreach (var r in ClusterWorkspace.RunConcurrently(N, i => Split(CacheArgs(workers[i]), i))) r.EnsureSuccess();
        string otherK = Path.Combine(dir, "k4-w1");
        ClusterWorkspace.Run(Split(CacheArgs(otherK, k: 4), 1)).EnsureSuccess();

        var missing = ClusterWorkspace.Run(["merge", workers[0], workers[2], "--out", Path.Combine(dir, "out1")]);
        Assert.Equal(1, missing.Code);
        Assert.Contains("worker 1 of 3 missing", missing.Output);

        var settings = ClusterWorkspace.Run(["merge", workers[0], otherK, workers[2], "--out", Path.Combine(dir, "out2")]);
        Assert.Equal(1, settings.Code);
        Assert.Contains($"{otherK}: (worker 1) was made with other settings", settings.Output);
        Assert.Contains("k 8 vs 4", settings.Output);

        var mixed = ClusterWorkspace.Run(["merge", workers[0], workspace.Samples, "--out", Path.Combine(dir, "out3")]);
        Assert.Equal(1, mixed.Code);
        Assert.Contains("is a samples folder, but", mixed.Output);
        Assert.False(Directory.Exists(Path.Combine(dir, "out1")) || Directory.Exists(Path.Combine(dir, "out2")), "a refused merge wrote output");
    }

    [Fact]
    public void A_pipeline_runs_one_workers_share_of_its_shard_parallel_steps_and_merges_them_into_the_single_run_output()
    {
        string dir = workspace.NewDir("pipeline"), pipeline = Path.Combine(dir, "teacher.json");
        File.WriteAllText(pipeline, System.Text.Json.JsonSerializer.Serialize(new
        {
            name = "teacher-pass",
            parameters = new Dictionary<string, string> { ["out"] = Path.Combine(dir, "split") },
            steps = new object[]
            {
                new { name = "init-student", args = new[] { "model", "init", "--preset", "demo-teacher", "--out", "${out}/student" } },
                new { name = "cache", args = CacheArgs("${out}/cache") },
            },
        }));
        foreach (var r in ClusterWorkspace.RunConcurrently(N, i => ["run", pipeline, "--worker", i.ToString(), "--workers", N.ToString(), "--until", "cache"]))
            Assert.Contains("init-student: not shard-parallel, skipped", r.EnsureSuccess().Output);
        Assert.False(Directory.Exists(Path.Combine(dir, "split", "cache")), "a worker wrote the merged output");
        Assert.True(Directory.Exists(Path.Combine(dir, "split", "cache.workers", "w2")));

        ClusterWorkspace.Run(["run", pipeline, "--workers", N.ToString(), "--merge", "--until", "cache"]).EnsureSuccess();
        ClusterWorkspace.Run(["run", pipeline, "--set", $"out={Path.Combine(dir, "single")}", "--until", "cache"]).EnsureSuccess();
        ClusterWorkspace.AssertSameFiles(Path.Combine(dir, "single", "cache"), Path.Combine(dir, "split", "cache"));

        // The merge recorded the step as done: a plain run goes on after it.
        var rest = ClusterWorkspace.Run(["run", pipeline]).EnsureSuccess();
        Assert.Contains("cache: done earlier, skipped", rest.Output);
        Assert.True(File.Exists(Path.Combine(dir, "split", "student", "config.json")));
    }

    [Fact]
    public void A_pipeline_splits_pairs_reference_and_merges_the_shares_back_into_its_pair_index()
    {
        string dir = workspace.NewDir("pipeline-reference"), pipeline = Path.Combine(dir, "reference.json"), import = workspace.ImportFile();
        File.WriteAllText(pipeline, System.Text.Json.JsonSerializer.Serialize(new
        {
            name = "reference-pass",
            parameters = new Dictionary<string, string> { ["out"] = Path.Combine(dir, "split") },
            steps = new object[]
            {
                new { name = "import", args = new[] { "pairs", "import", "--db", "${out}/pairs.sqlite", import } },
                new { name = "reference", args = ReferenceArgs("${out}/pairs.sqlite") },
            },
        }));
        ClusterWorkspace.Run(["run", pipeline, "--until", "import"]).EnsureSuccess();
        string db = Path.Combine(dir, "split", "pairs.sqlite");
        foreach (var r in ClusterWorkspace.RunConcurrently(N, i => ["run", pipeline, "--worker", i.ToString(), "--workers", N.ToString()]))
            Assert.Contains("reference: finished", r.EnsureSuccess().Output);
        Assert.Contains(Rows(db, "pairs", "ref_chosen_logp"), row => row[0] == "NULL"); // the workers filled their own copies
        Assert.True(File.Exists(Path.Combine(dir, "split", "pairs.sqlite.workers", "w2.sqlite")));

        ClusterWorkspace.Run(["run", pipeline, "--workers", N.ToString(), "--merge"]).EnsureSuccess();
        ClusterWorkspace.Run(["run", pipeline, "--set", $"out={Path.Combine(dir, "single")}"]).EnsureSuccess();
        Assert.DoesNotContain(Rows(db, "pairs", "ref_chosen_logp"), row => row[0] == "NULL");
        AssertSameRows(Path.Combine(dir, "single", "pairs.sqlite"), db);
        Assert.Contains("reference: done earlier, skipped", ClusterWorkspace.Run(["run", pipeline]).EnsureSuccess().Output);
    }

    [Fact]
    public void Reference_shares_are_not_merged_over_a_pair_index_that_changed_since_the_workers_copied_it()
    {
        string dir = workspace.NewDir("reference-changed"), db = Path.Combine(dir, "pairs.sqlite");
        ClusterWorkspace.Run(["pairs", "import", "--db", db, workspace.ImportFile()]).EnsureSuccess();
        var workers = Enumerable.Range(0, 2).Select(i => Path.Combine(dir, $"w{i}.sqlite")).ToList();
        for (int i = 0; i < 2; i++)
            ClusterWorkspace.Run([.. ReferenceArgs(db), "--worker", i.ToString(), "--workers", "2", "--out", workers[i]]).EnsureSuccess();
        using (var connection = new SqliteConnection($"Data Source={db};Pooling=False")) // a pair is removed after the workers copied the index
        {
            connection.Open();
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM pairs WHERE id = (SELECT max(id) FROM pairs)";
            Assert.Equal(1, delete.ExecuteNonQuery());
        }
        var before = Rows(db, "pairs");
        var refused = ClusterWorkspace.Run(["merge", .. workers, "--out", db]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("it changed since", refused.Output);
        Assert.Equal(before, Rows(db, "pairs")); // untouched
    }

    /// <summary>Every row of every table one process writes, in id order; runs without their creation time.</summary>
    static void AssertSameRows(string expected, string actual)
    {
        foreach (var (table, columns) in new[]
                 {
                     ("runs", "id, name, teacher, teacher_version, sampler, sampler_version, scorer, scorer_version, settings_json, tokenizer_fingerprint"),
                     ("prompts", "*"), ("responses", "*"), ("pairs", "*"),
                 })
        {
            var (a, b) = (Rows(expected, table, columns), Rows(actual, table, columns));
            Assert.True(a.Count == b.Count, $"{table}: {a.Count} rows in {expected}, {b.Count} in {actual}");
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i]);
        }
    }

    static List<string[]> Rows(string db, string table, string columns = "*")
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {columns} FROM {table} ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            var row = new string[reader.FieldCount];
            for (int c = 0; c < row.Length; c++)
                row[c] = reader.IsDBNull(c) ? "NULL" : reader.GetValue(c) switch
                {
                    byte[] bytes => Convert.ToHexString(bytes),
                    double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                    var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!,
                };
            rows.Add(row);
        }
        return rows;
    }
}
