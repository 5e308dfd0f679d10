using Dapper;
using LlavaMod.Core;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Preferences;

/// <summary>The pair index schema as ordered migration scripts. <c>PRAGMA user_version</c> holds the
/// number of scripts applied; each script runs in its own transaction together with the version bump,
/// so a crash leaves the database at the old or the new version, never between. Append new scripts;
/// never edit one that has shipped.</summary>
public static class SchemaMigrations
{
    public static int CurrentVersion => Scripts.Length;

    static readonly string[] Scripts =
    [
        // 1: tables, natural unique keys, filter indexes, same-prompt check.
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            teacher TEXT NOT NULL, teacher_version TEXT NOT NULL,
            sampler TEXT NOT NULL, sampler_version TEXT NOT NULL,
            scorer TEXT NOT NULL, scorer_version TEXT NOT NULL,
            settings_json TEXT NOT NULL,
            created_utc TEXT NOT NULL
        );
        CREATE TABLE prompts (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            prompt_key TEXT NOT NULL,
            text TEXT NOT NULL,
            token_ids BLOB,                -- little-endian int32
            image_key TEXT,                -- data shard row key
            image_path TEXT,
            meta_json TEXT,
            UNIQUE (run_id, prompt_key)
        );
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id),
            text_sha256 TEXT NOT NULL,
            text TEXT NOT NULL,
            token_ids BLOB,                -- little-endian int32
            token_count INTEGER,
            score REAL,
            claims_json TEXT,
            sampler_logp REAL,             -- summed log-prob under the sampler
            UNIQUE (prompt_id, text_sha256)
        );
        CREATE TABLE pairs (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            prompt_id INTEGER NOT NULL REFERENCES prompts(id),
            chosen_id INTEGER NOT NULL REFERENCES responses(id),
            rejected_id INTEGER NOT NULL REFERENCES responses(id),
            chosen_score REAL,
            rejected_score REAL,
            gap REAL,                      -- chosen_score - rejected_score
            severity REAL NOT NULL,        -- HSA-DPO weight of the rejected response
            ref_chosen_logp REAL, ref_chosen_tokens INTEGER,     -- reference = teacher
            ref_rejected_logp REAL, ref_rejected_tokens INTEGER,
            length INTEGER,                -- tokens of the longer response
            split TEXT NOT NULL CHECK (split IN ('train', 'val')),
            source TEXT NOT NULL CHECK (source IN ('mined', 'imported')),
            CHECK (chosen_id <> rejected_id),
            UNIQUE (chosen_id, rejected_id)
        );
        CREATE INDEX ix_pairs_run ON pairs(run_id);
        CREATE INDEX ix_pairs_prompt ON pairs(prompt_id);
        CREATE INDEX ix_pairs_rejected ON pairs(rejected_id);
        CREATE INDEX ix_pairs_gap ON pairs(ifnull(gap, -1e308), id);
        CREATE INDEX ix_pairs_length ON pairs(ifnull(length, -1), id);
        CREATE INDEX ix_pairs_severity ON pairs(severity, id);
        CREATE INDEX ix_pairs_split ON pairs(split, id);
        CREATE INDEX ix_pairs_source ON pairs(source, id);
        CREATE TRIGGER pairs_same_prompt BEFORE INSERT ON pairs
        WHEN (SELECT prompt_id FROM responses WHERE id = NEW.chosen_id) IS NOT NEW.prompt_id
          OR (SELECT prompt_id FROM responses WHERE id = NEW.rejected_id) IS NOT NEW.prompt_id
        BEGIN SELECT RAISE(ABORT, 'pair responses must belong to the pair''s prompt'); END;
        """,
        // 2: full-text search over prompt and response text (FTS5, external content).
        """
        CREATE VIRTUAL TABLE responses_fts USING fts5(text, content='responses', content_rowid='id');
        CREATE TRIGGER responses_fts_ai AFTER INSERT ON responses BEGIN
            INSERT INTO responses_fts(rowid, text) VALUES (NEW.id, NEW.text); END;
        CREATE TRIGGER responses_fts_ad AFTER DELETE ON responses BEGIN
            INSERT INTO responses_fts(responses_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text); END;
        CREATE TRIGGER responses_fts_au AFTER UPDATE OF text ON responses BEGIN
            INSERT INTO responses_fts(responses_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
            INSERT INTO responses_fts(rowid, text) VALUES (NEW.id, NEW.text); END;
        CREATE VIRTUAL TABLE prompts_fts USING fts5(text, content='prompts', content_rowid='id');
        CREATE TRIGGER prompts_fts_ai AFTER INSERT ON prompts BEGIN
            INSERT INTO prompts_fts(rowid, text) VALUES (NEW.id, NEW.text); END;
        CREATE TRIGGER prompts_fts_ad AFTER DELETE ON prompts BEGIN
            INSERT INTO prompts_fts(prompts_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text); END;
        CREATE TRIGGER prompts_fts_au AFTER UPDATE OF text ON prompts BEGIN
            INSERT INTO prompts_fts(prompts_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
            INSERT INTO prompts_fts(rowid, text) VALUES (NEW.id, NEW.text); END;
        INSERT INTO responses_fts(responses_fts) VALUES ('rebuild');
        INSERT INTO prompts_fts(prompts_fts) VALUES ('rebuild');
        """,
        // 3: which tokenizer (QwenTokenizer.Fingerprint) made a run's token ids; null = not recorded.
        """
        ALTER TABLE runs ADD COLUMN tokenizer_fingerprint TEXT;
        """,
    ];

    /// <summary>PRAGMA application_id of a pair index ("LMPI"), so another program's SQLite file is told apart from ours.</summary>
    public const int ApplicationId = 0x4C4D5049;

    static readonly string[] OwnTables = ["pairs", "prompts", "responses", "runs"];

    /// <summary>
    /// Refuses a database that is neither empty nor a pair index, before anything is written to it
    /// (not even the journal mode): opening another application's file for --db must not add our
    /// tables to it. A pair index written before the application id was set is recognised by its tables.
    /// </summary>
    public static void RequireOwnOrEmpty(SqliteConnection connection, string path)
    {
        int app = connection.ExecuteScalar<int>("PRAGMA application_id");
        if (app == ApplicationId) return;
        int version = ReadVersion(connection);
        var tables = connection.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").ToList();
        if (app == 0 && version == 0 && tables.Count == 0) return;
        if (app == 0 && version > 0 && OwnTables.All(tables.Contains)) return;
        string listed = string.Join(", ", tables.Take(5)) + (tables.Count > 5 ? $", … ({tables.Count} tables)" : "");
        throw LlavaModException.ForFile(path,
            $"is not a pair index (SQLite application_id {app}, user_version {version}, tables: {(tables.Count == 0 ? "none" : listed)}); llavamod writes pairs only into a new, empty or its own database: choose another --db");
    }

    public static int ReadVersion(SqliteConnection connection) =>
        connection.ExecuteScalar<int>("PRAGMA user_version");

    /// <summary>Applies the scripts the database lacks, each in its own write transaction (the version
    /// is re-read inside it, so two processes opening a new file at once do not both migrate); returns
    /// how many were applied.</summary>
    public static int Migrate(SqliteConnection connection, string path)
    {
        int applied = 0;
        while (true)
        {
            using var tx = connection.BeginTransaction(deferred: false);
            int version = connection.ExecuteScalar<int>("PRAGMA user_version", transaction: tx);
            if (version > CurrentVersion)
                throw LlavaModException.ForFile(path, $"pair index schema version {version} is newer than this tool's ({CurrentVersion}); use a newer llavamod");
            if (connection.ExecuteScalar<int>("PRAGMA application_id", transaction: tx) != ApplicationId)
                connection.Execute($"PRAGMA application_id = {ApplicationId}", transaction: tx);
            if (version == CurrentVersion) { tx.Commit(); return applied; }
            connection.Execute(Scripts[version], transaction: tx);
            connection.Execute($"PRAGMA user_version = {version + 1}", transaction: tx);
            tx.Commit();
            applied++;
        }
    }

    /// <summary>The first <paramref name="count"/> scripts, for tests that build an older database.</summary>
    internal static IReadOnlyList<string> FirstScripts(int count) => Scripts[..count];
}
