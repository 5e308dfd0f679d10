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

    public int SchemaVersion => SchemaMigrations.ReadVersion(_connection);

    /// <summary>Runs <paramref name="work"/> in one write transaction (joins the open one when nested):
    /// all of it is committed, or, when it throws, none of it.</summary>
    public T InTransaction<T>(Func<PairStore, T> work)
    {
        if (_transaction is not null) return work(this);
        _transaction = _connection.BeginTransaction(deferred: false);
        try
        {
            T result = work(this);
            _transaction.Commit();
            return result;
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

    /// <summary>Inserts the prompt unless (run, prompt key) exists; returns its id either way.</summary>
    public long UpsertPrompt(long runId, PromptRecord prompt)
    {
        var args = new
        {
            RunId = runId, prompt.PromptKey, prompt.Text, TokenIds = TokenIdBlob.EncodeOrNull(prompt.TokenIds),
            prompt.ImageKey, prompt.ImagePath, prompt.MetaJson,
        };
        return _connection.ExecuteScalar<long?>(
                   """
                   INSERT INTO prompts (run_id, prompt_key, text, token_ids, image_key, image_path, meta_json)
                   VALUES (@RunId, @PromptKey, @Text, @TokenIds, @ImageKey, @ImagePath, @MetaJson)
                   ON CONFLICT (run_id, prompt_key) DO NOTHING RETURNING id
                   """, args, _transaction)
               ?? _connection.ExecuteScalar<long>("SELECT id FROM prompts WHERE run_id = @RunId AND prompt_key = @PromptKey", args, _transaction);
    }

    /// <summary>Inserts the response unless the prompt already has one with the same text (by sha256);
    /// returns its id either way.</summary>
    public long UpsertResponse(long promptId, ResponseRecord response)
    {
        var args = new
        {
            PromptId = promptId, Sha = Hashing.Sha256Hex(response.Text), response.Text,
            TokenIds = TokenIdBlob.EncodeOrNull(response.TokenIds), response.TokenCount,
            response.Score, response.ClaimsJson, response.SamplerLogp,
        };
        return _connection.ExecuteScalar<long?>(
                   """
                   INSERT INTO responses (prompt_id, text_sha256, text, token_ids, token_count, score, claims_json, sampler_logp)
                   VALUES (@PromptId, @Sha, @Text, @TokenIds, @TokenCount, @Score, @ClaimsJson, @SamplerLogp)
                   ON CONFLICT (prompt_id, text_sha256) DO NOTHING RETURNING id
                   """, args, _transaction)
               ?? _connection.ExecuteScalar<long>("SELECT id FROM responses WHERE prompt_id = @PromptId AND text_sha256 = @Sha", args, _transaction);
    }

    /// <summary>Inserts the pairs in one transaction (or the caller's); pairs that exist are skipped.
    /// Returns how many were new.</summary>
    public int AddPairs(IEnumerable<PairRecord> pairs) => InTransaction(_ =>
    {
        int inserted = 0;
        foreach (var pair in pairs) inserted += InsertPair(pair);
        return inserted;
    });

    /// <summary>Writes a batch of mined prompts (prompt, responses, pairs) in one transaction.</summary>
    public BatchResult AddMinedBatch(long runId, IEnumerable<MinedPrompt> batch) => InTransaction(_ =>
    {
        int prompts = 0, responses = 0, pairs = 0;
        foreach (var mined in batch)
        {
            long promptId = UpsertPrompt(runId, mined.Prompt);
            var ids = new long[mined.Responses.Count];
            for (int i = 0; i < ids.Length; i++) ids[i] = UpsertResponse(promptId, mined.Responses[i]);
            foreach (var p in mined.Pairs)
            {
                if ((uint)p.ChosenIndex >= ids.Length || (uint)p.RejectedIndex >= ids.Length)
                    throw new LlavaModException($"prompt '{mined.Prompt.PromptKey}': pair ({p.ChosenIndex}, {p.RejectedIndex}) refers to a response index outside 0..{ids.Length - 1}");
                pairs += InsertPair(new PairRecord(ids[p.ChosenIndex], ids[p.RejectedIndex], p.Severity, p.RefChosenLogp,
                    p.RefChosenTokens, p.RefRejectedLogp, p.RefRejectedTokens, p.Split, p.Source));
            }
            prompts++;
            responses += ids.Length;
        }
        return new BatchResult(prompts, responses, pairs);
    });

    int InsertPair(PairRecord pair)
    {
        if (!double.IsFinite(pair.Severity) || pair.Severity < 0)
            throw new LlavaModException($"pair ({pair.ChosenResponseId}, {pair.RejectedResponseId}): severity {pair.Severity} must be a finite number ≥ 0");
        var args = new
        {
            Chosen = pair.ChosenResponseId, Rejected = pair.RejectedResponseId, pair.Severity,
            pair.RefChosenLogp, pair.RefChosenTokens, pair.RefRejectedLogp, pair.RefRejectedTokens,
            Split = SplitName(pair.Split), Source = SourceName(pair.Source),
        };
        int n = _connection.Execute(
            """
            INSERT INTO pairs (run_id, prompt_id, chosen_id, rejected_id, chosen_score, rejected_score, gap, severity,
                               ref_chosen_logp, ref_chosen_tokens, ref_rejected_logp, ref_rejected_tokens, length, split, source)
            SELECT p.run_id, c.prompt_id, c.id, r.id, c.score, r.score, c.score - r.score, @Severity,
                   @RefChosenLogp, @RefChosenTokens, @RefRejectedLogp, @RefRejectedTokens,
                   max(c.token_count, r.token_count), @Split, @Source
            FROM responses c JOIN prompts p ON p.id = c.prompt_id JOIN responses r ON r.id = @Rejected
            WHERE c.id = @Chosen
            ON CONFLICT (chosen_id, rejected_id) DO NOTHING
            """, args, _transaction);
        if (n == 0 && _connection.ExecuteScalar<long>("SELECT count(*) FROM pairs WHERE chosen_id = @Chosen AND rejected_id = @Rejected", args, _transaction) == 0)
            throw new LlavaModException($"pair ({pair.ChosenResponseId}, {pair.RejectedResponseId}): no response with that id");
        return n;
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

    public void Dispose()
    {
        _transaction?.Dispose();
        _connection.Dispose();
    }
}

/// <summary>What one <see cref="PairStore.AddMinedBatch"/> call wrote: prompts and responses seen
/// (new or existing) and pairs newly inserted.</summary>
public sealed record BatchResult(int Prompts, int Responses, int PairsInserted);
