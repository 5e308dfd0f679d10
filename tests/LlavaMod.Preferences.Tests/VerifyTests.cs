using Dapper;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Preferences.Tests;

public class VerifyTests
{
    static string Build(TempDir dir, int prompts = 200)
    {
        string db = dir.File("pairs.db");
        using var store = PairStore.Open(db);
        store.AddMinedBatch(store.CreateRun(TestData.Run()), TestData.Mined(prompts, seed: 20).Batch);
        return db;
    }

    [Fact]
    public void A_healthy_index_verifies_with_counts()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(Build(dir, prompts: 10), readOnly: true);
        var result = store.Verify();
        Assert.True(result.Ok, string.Join("; ", result.IntegrityProblems.Concat(result.ConsistencyProblems)));
        Assert.Equal(new Dictionary<string, long> { ["runs"] = 1, ["prompts"] = 10, ["responses"] = 40, ["pairs"] = 20 }, result.Counts);
    }

    [Fact]
    public void A_dangling_foreign_key_is_reported()
    {
        using var dir = new TempDir();
        string db = Build(dir, prompts: 10);
        using (var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false, ForeignKeys = false }.ToString()))
        {
            raw.Open();
            raw.Execute("DELETE FROM responses WHERE id = (SELECT rejected_id FROM pairs WHERE id = 3)");
        }
        using var store = PairStore.Open(db);
        var result = store.Verify();
        Assert.False(result.Ok);
        var problem = Assert.Single(result.ForeignKeyProblems);
        Assert.Equal(("pairs", 3L, "responses"), (problem.Table, problem.RowId!.Value, problem.Parent));
    }

    [Fact]
    public void Pairs_that_disagree_with_their_responses_are_reported()
    {
        using var dir = new TempDir();
        string db = Build(dir, prompts: 10);
        using (var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString()))
        {
            raw.Open();
            raw.Execute("UPDATE pairs SET gap = gap + 1 WHERE id = 4");
            raw.Execute("UPDATE responses SET prompt_id = 1 WHERE id = (SELECT chosen_id FROM pairs WHERE id = 7)");
        }
        using var store = PairStore.Open(db, readOnly: true);
        var result = store.Verify();
        Assert.False(result.Ok);
        Assert.Equal(["pairs 7: responses belong to another prompt", "pairs 4: scores or gap differ from the responses' scores"], result.ConsistencyProblems);
    }

    [Fact]
    public void Overwritten_pages_are_reported_as_corruption()
    {
        using var dir = new TempDir();
        string db = Build(dir);
        // No -wal file is left after the last connection closes; corrupt pages past the schema page.
        Assert.False(File.Exists(db + "-wal") && new FileInfo(db + "-wal").Length > 0);
        long length = new FileInfo(db).Length;
        int pageSize = 4096;
        Assert.True(length > 20 * pageSize);
        using (var f = new FileStream(db, FileMode.Open, FileAccess.Write))
        {
            var rng = new Random(1);
            var junk = new byte[pageSize];
            foreach (long page in new long[] { length / pageSize / 2, length / pageSize - 2 })
            {
                rng.NextBytes(junk);
                f.Position = page * pageSize + 100;
                f.Write(junk, 0, pageSize - 200);
            }
        }
        using var store = PairStore.Open(db, readOnly: true);
        var result = store.Verify();
        Assert.False(result.Ok);
        Assert.NotEmpty(result.IntegrityProblems);
    }
}
