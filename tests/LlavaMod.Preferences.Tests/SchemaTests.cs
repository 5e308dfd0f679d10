using Dapper;
using LlavaMod.Core;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Preferences.Tests;

public class SchemaTests
{
    static SqliteConnection Raw(string path, bool foreignKeys = true)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, ForeignKeys = foreignKeys }.ToString());
        c.Open();
        return c;
    }

    [Fact]
    public void New_file_is_migrated_to_the_current_version_in_wal_mode_with_foreign_keys()
    {
        using var dir = new TempDir();
        string db = dir.File("pairs.db");
        using (var store = PairStore.Open(db))
            Assert.Equal(SchemaMigrations.CurrentVersion, store.SchemaVersion);
        using var raw = Raw(db);
        Assert.Equal(SchemaMigrations.CurrentVersion, raw.ExecuteScalar<int>("PRAGMA user_version"));
        Assert.Equal("wal", raw.ExecuteScalar<string>("PRAGMA journal_mode"));
        var tables = raw.Query<string>("SELECT name FROM sqlite_schema WHERE type = 'table'").ToHashSet();
        Assert.Superset(new HashSet<string> { "runs", "prompts", "responses", "pairs", "responses_fts", "prompts_fts" }, tables);
    }

    [Fact]
    public void Reopening_keeps_data_and_applies_nothing()
    {
        using var dir = new TempDir();
        string db = dir.File("pairs.db");
        var (batch, expected) = TestData.Mined(5, seed: 1);
        using (var store = PairStore.Open(db))
            store.AddMinedBatch(store.CreateRun(TestData.Run()), batch);
        using (var raw = Raw(db))
            Assert.Equal(0, SchemaMigrations.Migrate(raw, db));
        using var reopened = PairStore.Open(db);
        Assert.Equal(expected.Count, TestData.Counts(reopened).Pairs);
    }

    [Fact]
    public void Version_1_database_is_upgraded_and_its_text_becomes_searchable()
    {
        using var dir = new TempDir();
        string db = dir.File("old.db");
        using (var raw = Raw(db))
        {
            raw.Execute(SchemaMigrations.FirstScripts(1)[0]);
            raw.Execute("PRAGMA user_version = 1");
            raw.Execute("INSERT INTO runs VALUES (1, 'old', 't', 'v', 's', 'v', 'c', 'v', '{}', '2026-01-01')");
            raw.Execute("INSERT INTO prompts (id, run_id, prompt_key, text) VALUES (1, 1, 'k', 'what is on the giraffe')");
            raw.Execute("INSERT INTO responses (id, prompt_id, text_sha256, text, score) VALUES (1, 1, 'a', 'a zebra stands', 0), (2, 1, 'b', 'a horse', -1)");
            raw.Execute("INSERT INTO pairs (run_id, prompt_id, chosen_id, rejected_id, gap, severity, split, source) VALUES (1, 1, 1, 2, 1, 1, 'train', 'mined')");
        }
        using var store = PairStore.Open(db);
        Assert.Equal(SchemaMigrations.CurrentVersion, store.SchemaVersion);
        Assert.Single(store.ListPairs(new PairQuery { Text = "zebra" }));
        Assert.Single(store.ListPairs(new PairQuery { Text = "giraffe" }));
        Assert.Empty(store.ListPairs(new PairQuery { Text = "lion" }));
    }

    [Fact]
    public void Newer_schema_is_refused_with_a_clear_error()
    {
        using var dir = new TempDir();
        string db = dir.File("future.db");
        using (var raw = Raw(db)) raw.Execute($"PRAGMA application_id = {SchemaMigrations.ApplicationId}; PRAGMA user_version = {SchemaMigrations.CurrentVersion + 1}");
        var e = Assert.Throws<LlavaModException>(() => PairStore.Open(db));
        Assert.Contains("newer", e.Message);
        Assert.Contains(db, e.Message);
    }

    [Theory]
    [InlineData(0, 0)]        // a bare SQLite file with someone's tables
    [InlineData(0, 7)]        // tables and a version of its own
    [InlineData(0x12345, 0)]  // another application's id
    public void Another_applications_database_is_refused_and_left_unchanged(int applicationId, int userVersion)
    {
        using var dir = new TempDir();
        string db = dir.File("theirs.db");
        using (var raw = Raw(db))
        {
            raw.Execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('a'), ('b')");
            raw.Execute($"PRAGMA application_id = {applicationId}; PRAGMA user_version = {userVersion}");
        }
        string before = Hashing.Sha256OfFile(db);

        var e = Assert.Throws<LlavaModException>(() => PairStore.Open(db));
        Assert.Equal($"{db}: is not a pair index (SQLite application_id {applicationId}, user_version {userVersion}, tables: customers); " +
            "llavamod writes pairs only into a new, empty or its own database: choose another --db", e.Message);
        Assert.Throws<LlavaModException>(() => PairStore.Open(db, readOnly: true));
        Assert.Equal(before, Hashing.Sha256OfFile(db));
        Assert.False(File.Exists(db + "-wal"));
    }

    [Fact]
    public void A_new_pair_index_carries_the_application_id_and_an_empty_sqlite_file_becomes_one()
    {
        using var dir = new TempDir();
        string db = dir.File("empty.db");
        using (var raw = Raw(db)) raw.Execute("PRAGMA user_version = 0");
        using (var store = PairStore.Open(db)) Assert.Equal(SchemaMigrations.CurrentVersion, store.SchemaVersion);
        using var check = Raw(db);
        Assert.Equal(SchemaMigrations.ApplicationId, check.ExecuteScalar<int>("PRAGMA application_id"));
    }

    [Fact]
    public void Read_only_open_of_a_missing_file_names_the_file()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<LlavaModException>(() => PairStore.Open(dir.File("none.db"), readOnly: true));
        Assert.Contains("none.db", e.Message);
        Assert.False(File.Exists(dir.File("none.db")));
    }

    [Fact]
    public void Writes_through_a_read_only_store_are_refused_clearly()
    {
        using var dir = new TempDir();
        string db = dir.File("pairs.db");
        PairStore.Open(db).Dispose();
        using var store = PairStore.Open(db, readOnly: true);
        Assert.Contains("read-only", Assert.Throws<LlavaModException>(() => store.CreateRun(TestData.Run())).Message);
        Assert.Contains("read-only", Assert.Throws<LlavaModException>(() => store.UpsertPrompt(1, new PromptRecord("k", "t"))).Message);
        Assert.Contains("read-only", Assert.Throws<LlavaModException>(() => store.AddPairs([])).Message);
    }

    [Fact]
    public void Foreign_keys_are_enforced()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.db"));
        Assert.Throws<SqliteException>(() => store.UpsertPrompt(runId: 42, new PromptRecord("k", "text")));
    }

    [Fact]
    public void Token_ids_are_little_endian_int32()
    {
        byte[] blob = TokenIdBlob.Encode([1, -1, 0x01020304]);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 4, 3, 2, 1 }, blob);
        Assert.Equal(new[] { 1, -1, 0x01020304 }, TokenIdBlob.Decode(blob));
        Assert.Throws<LlavaModException>(() => TokenIdBlob.Decode(new byte[5]));
    }
}
