using Dapper;
using LlavaMod.Core;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Preferences;

/// <summary>
/// The preference pair index: one SQLite file (WAL journal, foreign keys on, synchronous=FULL) with
/// runs, prompts, responses and pairs. Writers make one transaction per batch, so a crash keeps every
/// committed batch and nothing of the one in flight; natural unique keys make reruns insert nothing
/// twice. Readers in other connections or processes see the last committed state while a write is
/// in progress. One instance is one connection: not thread-safe, open one per thread.
/// </summary>
public sealed partial class PairStore : IDisposable
{
    readonly SqliteConnection _connection;
    SqliteTransaction? _transaction;

    public string Path { get; }
    public bool ReadOnly { get; }

    PairStore(SqliteConnection connection, string path, bool readOnly)
    {
        _connection = connection;
        Path = path;
        ReadOnly = readOnly;
    }

    /// <summary>Opens (for writing: creates and migrates) the pair index at <paramref name="path"/>.</summary>
    public static PairStore Open(string path, bool readOnly = false)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (readOnly && !File.Exists(full)) throw LlavaModException.ForFile(path, "pair index not found");
        if (!readOnly) Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            ForeignKeys = true,
            DefaultTimeout = 60,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            connection.Execute("PRAGMA busy_timeout = 60000");
            SchemaMigrations.RequireOwnOrEmpty(connection, path);
            if (!readOnly)
            {
                connection.Execute("PRAGMA journal_mode = WAL");
                connection.Execute("PRAGMA synchronous = FULL");
                SchemaMigrations.Migrate(connection, path);
            }
            else
            {
                int version = SchemaMigrations.ReadVersion(connection);
                if (version != SchemaMigrations.CurrentVersion)
                    throw LlavaModException.ForFile(path, $"pair index schema version {version}, this tool reads {SchemaMigrations.CurrentVersion}; open it once for writing to migrate");
            }
            return new PairStore(connection, path, readOnly);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw LlavaModException.ForFile(path, $"cannot open pair index: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    const int SqliteFull = 13; // SQLITE_FULL: the database or disk is full

    public int SchemaVersion => SchemaMigrations.ReadVersion(_connection);

    /// <summary>Runs <paramref name="work"/> in one write transaction (joins the open one when nested):
    /// all of it is committed, or, when it throws, none of it.</summary>
    public T InTransaction<T>(Func<PairStore, T> work)
    {
        if (_transaction is not null) return work(this);
        EnsureWritable();
        _transaction = _connection.BeginTransaction(deferred: false);
        try
        {
            T result = work(this);
            _transaction.Commit();
            return result;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteFull)
        {
            try { _transaction.Rollback(); } catch (SqliteException) { } // SQLite may have rolled back already
            throw new LlavaModException(DiskFull.Describe(Path), e);
        }
        catch
        {
            _transaction.Rollback();
            throw;
        }
        finally
        {
            _transaction.Dispose();
            _transaction = null;
        }
    }

    public void InTransaction(Action<PairStore> work) => InTransaction(s => { work(s); return 0; });

    /// <summary>Registers a run, or returns the id of the run of that name when its settings match.</summary>
    public long CreateRun(RunInfo run)
    {
        EnsureWritable();
        var existing = _connection.QuerySingleOrDefault<RunInfo>(
            """
            SELECT name AS Name, teacher AS Teacher, teacher_version AS TeacherVersion, sampler AS Sampler,
                   sampler_version AS SamplerVersion, scorer AS Scorer, scorer_version AS ScorerVersion,
                   settings_json AS SettingsJson
            FROM runs WHERE name = @Name
            """, run, _transaction);
        if (existing is not null && existing != run)
            throw LlavaModException.ForFile(Path, $"run '{run.Name}' already exists with other teacher/sampler/scorer versions or settings; choose another run name");
        _connection.Execute(
            """
            INSERT INTO runs (name, teacher, teacher_version, sampler, sampler_version, scorer, scorer_version, settings_json, created_utc)
            VALUES (@Name, @Teacher, @TeacherVersion, @Sampler, @SamplerVersion, @Scorer, @ScorerVersion, @SettingsJson, @Created)
            ON CONFLICT (name) DO NOTHING
            """,
            new { run.Name, run.Teacher, run.TeacherVersion, run.Sampler, run.SamplerVersion, run.Scorer, run.ScorerVersion, run.SettingsJson, Created = DateTime.UtcNow.ToString("O") },
            _transaction);
        return _connection.ExecuteScalar<long>("SELECT id FROM runs WHERE name = @Name", run, _transaction);
    }

    internal static string SplitName(PairSplit split) => split == PairSplit.Val ? "val" : "train";
    internal static string SourceName(PairSource source) => source == PairSource.Imported ? "imported" : "mined";

    public static PairSplit ParseSplit(string text) => text.ToLowerInvariant() switch
    {
        "train" => PairSplit.Train,
        "val" or "validation" => PairSplit.Val,
        _ => throw new LlavaModException($"unknown split '{text}' (expected train or val)"),
    };

    public static PairSource ParseSource(string text) => text.ToLowerInvariant() switch
    {
        "mined" => PairSource.Mined,
        "imported" => PairSource.Imported,
        _ => throw new LlavaModException($"unknown source '{text}' (expected mined or imported)"),
    };

    void EnsureWritable()
    {
        if (ReadOnly) throw LlavaModException.ForFile(Path, "the pair index was opened read-only; open it for writing to change it");
    }

    public void Dispose()
    {
        _statements?.Dispose();
        _transaction?.Dispose();
        _connection.Dispose();
    }
}

