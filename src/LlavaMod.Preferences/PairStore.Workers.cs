using Dapper;
using LlavaMod.Core;

namespace LlavaMod.Preferences;

/// <summary>
/// What a worker of a split <c>pairs mine</c> / <c>pairs reference</c> job records in its own pair
/// index: the verb, its part of the job, the settings all workers must share, and each finished unit
/// (a data shard, a batch of pairs) with the largest prompt, response and pair id after it. A unit
/// is recorded in the transaction that writes it, so a killed worker restarts at the first unit it
/// has not committed. The tables live beside the pair index's own; <c>llavamod merge</c> leaves them out.
/// </summary>
public sealed record PairWorkerInfo(string Verb, WorkerPart Part, string SettingsJson);

/// <summary>A finished unit of a worker and the largest ids in its pair index once the unit was committed.</summary>
public sealed record PairWorkerUnit(string Unit, long LastPromptId, long LastResponseId, long LastPairId);

public sealed partial class PairStore
{
    const string WorkerTable = "llavamod_worker", WorkerUnitsTable = "llavamod_worker_units";

    /// <summary>Records this worker's part, or checks that the file is this worker's already.</summary>
    public void BeginWorker(PairWorkerInfo info) => InTransaction(_ =>
    {
        _connection.Execute(
            $"""
            CREATE TABLE IF NOT EXISTS {WorkerTable} (
                id INTEGER PRIMARY KEY CHECK (id = 1), verb TEXT NOT NULL, part_json TEXT NOT NULL, settings_json TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS {WorkerUnitsTable} (
                unit TEXT PRIMARY KEY, last_prompt_id INTEGER NOT NULL, last_response_id INTEGER NOT NULL, last_pair_id INTEGER NOT NULL);
            """, transaction: _transaction);
        var existing = WorkerInfo();
        if (existing is null)
        {
            _connection.Execute($"INSERT INTO {WorkerTable} (id, verb, part_json, settings_json) VALUES (1, @Verb, @part, @SettingsJson)",
                new { info.Verb, part = Json.Serialize(info.Part), info.SettingsJson }, _transaction);
            return;
        }
        if (existing.Verb != info.Verb || existing.Part != info.Part)
            throw LlavaModException.ForFile(Path, $"holds the output of '{existing.Verb}' worker {existing.Part.Worker} of {existing.Part.Workers}, " +
                $"this run is '{info.Verb}' worker {info.Part.Worker} of {info.Part.Workers}: give each worker its own file");
        var differences = WorkerMerge.Differences(existing.SettingsJson, info.SettingsJson);
        if (differences.Count > 0)
            throw LlavaModException.ForFile(Path, $"was written by this worker with other settings or inputs ({string.Join("; ", differences)}); give the same settings or a new file");
    });

    /// <summary>The worker record of a worker's file; null for a pair index written by one process.</summary>
    public PairWorkerInfo? WorkerInfo()
    {
        if (_connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @WorkerTable", new { WorkerTable }, _transaction) == 0)
            return null;
        var row = _connection.QuerySingleOrDefault<(string Verb, string Part, string Settings)>(
            $"SELECT verb, part_json, settings_json FROM {WorkerTable} WHERE id = 1", transaction: _transaction);
        return row.Verb is null ? null : new PairWorkerInfo(row.Verb, Json.Deserialize<WorkerPart>(row.Part, Path), row.Settings);
    }

    /// <summary>The units this worker has committed, with the largest ids after each.</summary>
    public IReadOnlyList<PairWorkerUnit> FinishedWorkerUnits() => WorkerInfo() is null ? []
        : _connection.Query<PairWorkerUnit>(
            $"SELECT unit AS Unit, last_prompt_id AS LastPromptId, last_response_id AS LastResponseId, last_pair_id AS LastPairId FROM {WorkerUnitsTable}",
            transaction: _transaction).AsList();

    /// <summary>Marks a unit finished; call inside the transaction that wrote it.</summary>
    public void RecordWorkerUnit(string unit)
    {
        if (_transaction is null) throw new InvalidOperationException("a worker unit is recorded in the transaction that writes it");
        _connection.Execute(
            $"""
            INSERT INTO {WorkerUnitsTable} (unit, last_prompt_id, last_response_id, last_pair_id)
            VALUES (@unit, (SELECT ifnull(max(id), 0) FROM prompts), (SELECT ifnull(max(id), 0) FROM responses), (SELECT ifnull(max(id), 0) FROM pairs))
            """, new { unit }, _transaction);
    }

    /// <summary>Removes the worker record from a merged copy.</summary>
    internal void DropWorkerTables() =>
        _connection.Execute($"DROP TABLE IF EXISTS {WorkerUnitsTable}; DROP TABLE IF EXISTS {WorkerTable};", transaction: _transaction);

    /// <summary>Runs <paramref name="work"/> with the pair index at <paramref name="path"/> attached as schema <c>w</c>.</summary>
    internal void WithAttached(string path, Action<PairStore> work)
    {
        EnsureWritable();
        _connection.Execute("ATTACH DATABASE @path AS w", new { path });
        try { work(this); }
        finally { _connection.Execute("DETACH DATABASE w"); }
    }

    internal int Execute(string sql, object? parameters = null) => _connection.Execute(sql, parameters, _transaction);

    internal T Query<T>(string sql, object? parameters = null) => _connection.ExecuteScalar<T>(sql, parameters, _transaction)!;

    /// <summary>
    /// A consistent copy of the pair index at <paramref name="source"/> (SQLite's online backup), written to
    /// <paramref name="target"/>. Workers of a split job copy one source at the same moment: a copy that finds the
    /// source busy (another connection recovering its write-ahead log: SQLITE_BUSY_RECOVERY) waits and starts again,
    /// for up to a minute.
    /// </summary>
    public static void Copy(string source, string target)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try
            {
                using var from = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={System.IO.Path.GetFullPath(source)};Mode=ReadOnly;Pooling=False");
                using var to = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={System.IO.Path.GetFullPath(target)};Pooling=False");
                from.Open();
                to.Open();
                from.Execute("PRAGMA busy_timeout = 60000");
                to.Execute("PRAGMA busy_timeout = 60000");
                from.BackupDatabase(to);
                return;
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when ((e.SqliteErrorCode & 0xFF) == 5 && DateTime.UtcNow < deadline) // SQLITE_BUSY and its extended codes (BUSY_RECOVERY = 261)
            {
                Thread.Sleep(50);
            }
        }
    }
}
