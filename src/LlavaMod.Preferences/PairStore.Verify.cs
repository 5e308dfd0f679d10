using Dapper;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Preferences;

/// <summary>A foreign key that points nowhere: row <see cref="RowId"/> of <see cref="Table"/> refers to a
/// missing row of <see cref="Parent"/>.</summary>
public sealed record ForeignKeyProblem(string Table, long? RowId, string Parent);

/// <summary>Result of <see cref="PairStore.Verify"/>: <c>PRAGMA integrity_check</c> messages (empty when
/// it said "ok"), <c>PRAGMA foreign_key_check</c> rows, pairs that disagree with their responses
/// (other prompt, scores or gap not those of the responses), and table counts.</summary>
public sealed record VerifyResult(
    int SchemaVersion,
    IReadOnlyList<string> IntegrityProblems,
    IReadOnlyList<ForeignKeyProblem> ForeignKeyProblems,
    IReadOnlyList<string> ConsistencyProblems,
    IReadOnlyDictionary<string, long> Counts)
{
    public bool Ok => IntegrityProblems.Count == 0 && ForeignKeyProblems.Count == 0 && ConsistencyProblems.Count == 0;
}

public sealed partial class PairStore
{
    static readonly string[] Tables = ["runs", "prompts", "responses", "pairs"];

    static readonly (string Problem, string Condition)[] ConsistencyChecks =
    [
        ("responses belong to another prompt", "c.prompt_id IS NOT p.prompt_id OR r.prompt_id IS NOT p.prompt_id"),
        ("scores or gap differ from the responses' scores", "p.chosen_score IS NOT c.score OR p.rejected_score IS NOT r.score OR p.gap IS NOT (c.score - r.score)"),
    ];

    /// <summary>Checks the file: SQLite integrity check (pages, indexes, FTS), dangling foreign keys,
    /// and row counts. A corrupt file is reported, not thrown.</summary>
    public VerifyResult Verify()
    {
        var integrity = new List<string>();
        var foreignKeys = new List<ForeignKeyProblem>();
        var consistency = new List<string>();
        var counts = new Dictionary<string, long>();
        int version = 0;
        try
        {
            version = SchemaMigrations.ReadVersion(_connection);
            integrity.AddRange(_connection.Query<string>("PRAGMA integrity_check", transaction: _transaction).Where(m => m != "ok"));
            foreach (var row in _connection.Query("PRAGMA foreign_key_check", transaction: _transaction))
                foreignKeys.Add(new ForeignKeyProblem((string)row.table, (long?)row.rowid, (string)row.parent));
            foreach (var (check, condition) in ConsistencyChecks)
            {
                var ids = _connection.Query<long>(
                    $"SELECT p.id FROM pairs p JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id WHERE {condition} ORDER BY p.id LIMIT 11",
                    transaction: _transaction).AsList();
                if (ids.Count > 0)
                    consistency.Add($"pairs {string.Join(", ", ids.Take(10))}{(ids.Count > 10 ? ", …" : "")}: {check}");
            }
            foreach (var table in Tables)
                counts[table] = _connection.ExecuteScalar<long>($"SELECT count(*) FROM {table}", transaction: _transaction);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            integrity.Add($"SQLite error {e.SqliteErrorCode}: {e.Message}");
        }
        return new VerifyResult(version, integrity, foreignKeys, consistency, counts);
    }
}
