using LlavaMod.Core;
using Microsoft.Data.Sqlite;

namespace LlavaMod.Preferences;

/// <summary>What one <see cref="PairStore.AddMinedBatch"/> call wrote: prompts and responses seen
/// (new or existing) and pairs newly inserted.</summary>
public sealed record BatchResult(int Prompts, int Responses, int PairsInserted);

public sealed partial class PairStore
{
    WriteStatements? _statements;

    WriteStatements Statements(out SqliteTransaction? transaction)
    {
        EnsureWritable();
        transaction = _transaction;
        return _statements ??= new WriteStatements(_connection);
    }

    /// <summary>Inserts the prompt unless (run, prompt key) exists; returns its id either way.</summary>
    public long UpsertPrompt(long runId, PromptRecord prompt)
    {
        var s = Statements(out var tx);
        return s.Run(s.InsertPrompt, tx, runId, prompt.PromptKey, prompt.Text, TokenIdBlob.EncodeOrNull(prompt.TokenIds), prompt.ImageKey, prompt.ImagePath, prompt.MetaJson)
               ?? s.Run(s.SelectPrompt, tx, runId, prompt.PromptKey)!.Value;
    }

    /// <summary>Inserts the response unless the prompt already has one with the same text (by sha256);
    /// returns its id either way.</summary>
    public long UpsertResponse(long promptId, ResponseRecord response)
    {
        var s = Statements(out var tx);
        string sha = Hashing.Sha256Hex(response.Text);
        return s.Run(s.InsertResponse, tx, promptId, sha, response.Text, TokenIdBlob.EncodeOrNull(response.TokenIds), response.TokenCount,
                   response.Score, response.ClaimsJson, response.SamplerLogp)
               ?? s.Run(s.SelectResponse, tx, promptId, sha)!.Value;
    }

    /// <summary>Inserts the pairs in one transaction (or the caller's); pairs that exist are skipped.
    /// Returns how many were new.</summary>
    public int AddPairs(IEnumerable<PairRecord> pairs) => InTransaction(_ =>
    {
        int inserted = 0;
        foreach (var pair in pairs) inserted += InsertPair(pair);
        return inserted;
    });

    /// <summary>Writes a batch of mined prompts (prompt, responses, pairs) in one transaction: after a
    /// crash either all of the batch is in the index or none of it.</summary>
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
                if ((ulong)p.Chosen >= (ulong)ids.Length || (ulong)p.Rejected >= (ulong)ids.Length)
                    throw new LlavaModException($"prompt '{mined.Prompt.PromptKey}': pair ({p.Chosen}, {p.Rejected}) refers to a response index outside 0..{ids.Length - 1}");
                pairs += InsertPair(p with { Chosen = ids[p.Chosen], Rejected = ids[p.Rejected] }); // indexes → response ids
            }
            prompts++;
            responses += ids.Length;
        }
        return new BatchResult(prompts, responses, pairs);
    });

    int InsertPair(PairRecord pair)
    {
        if (!double.IsFinite(pair.Severity) || pair.Severity < 0)
            throw new LlavaModException($"pair ({pair.Chosen}, {pair.Rejected}): severity {pair.Severity} must be a finite number ≥ 0");
        var s = Statements(out var tx);
        int n = s.Execute(s.InsertPair, tx, pair.Chosen, pair.Rejected, pair.Severity, pair.RefChosenLogp, pair.RefChosenTokens,
            pair.RefRejectedLogp, pair.RefRejectedTokens, SplitName(pair.Split), SourceName(pair.Source));
        if (n == 0 && s.Run(s.SelectPair, tx, pair.Chosen, pair.Rejected) is null)
            throw new LlavaModException($"pair ({pair.Chosen}, {pair.Rejected}): no response with that id");
        return n;
    }

    /// <summary>The insert statements of the write path, prepared once per connection and reused
    /// (parameters are positional: $1, $2, …).</summary>
    sealed class WriteStatements(SqliteConnection connection) : IDisposable
    {
        public readonly SqliteCommand InsertPrompt = Prepare(connection,
            """
            INSERT INTO prompts (run_id, prompt_key, text, token_ids, image_key, image_path, meta_json)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run_id, prompt_key) DO NOTHING RETURNING id
            """, 7);
        public readonly SqliteCommand SelectPrompt = Prepare(connection, "SELECT id FROM prompts WHERE run_id = $1 AND prompt_key = $2", 2);
        public readonly SqliteCommand InsertResponse = Prepare(connection,
            """
            INSERT INTO responses (prompt_id, text_sha256, text, token_ids, token_count, score, claims_json, sampler_logp)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (prompt_id, text_sha256) DO NOTHING RETURNING id
            """, 8);
        public readonly SqliteCommand SelectResponse = Prepare(connection, "SELECT id FROM responses WHERE prompt_id = $1 AND text_sha256 = $2", 2);
        public readonly SqliteCommand InsertPair = Prepare(connection,
            """
            INSERT INTO pairs (run_id, prompt_id, chosen_id, rejected_id, chosen_score, rejected_score, gap, severity,
                               ref_chosen_logp, ref_chosen_tokens, ref_rejected_logp, ref_rejected_tokens, length, split, source)
            SELECT p.run_id, c.prompt_id, c.id, r.id, c.score, r.score, c.score - r.score, $3, $4, $5, $6, $7,
                   max(c.token_count, r.token_count), $8, $9
            FROM responses c JOIN prompts p ON p.id = c.prompt_id JOIN responses r ON r.id = $2
            WHERE c.id = $1
            ON CONFLICT (chosen_id, rejected_id) DO NOTHING
            """, 9);
        public readonly SqliteCommand SelectPair = Prepare(connection, "SELECT id FROM pairs WHERE chosen_id = $1 AND rejected_id = $2", 2);

        static SqliteCommand Prepare(SqliteConnection connection, string sql, int parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            for (int i = 1; i <= parameters; i++) command.Parameters.Add(new SqliteParameter("$" + i, null));
            return command;
        }

        static void Bind(SqliteCommand command, SqliteTransaction? transaction, object?[] values)
        {
            command.Transaction = transaction;
            for (int i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        /// <summary>Runs a statement that returns one id, or null when it returns no row.</summary>
        public long? Run(SqliteCommand command, SqliteTransaction? transaction, params object?[] values)
        {
            Bind(command, transaction, values);
            return command.ExecuteScalar() is long id ? id : null;
        }

        public int Execute(SqliteCommand command, SqliteTransaction? transaction, params object?[] values)
        {
            Bind(command, transaction, values);
            return command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            foreach (var c in new[] { InsertPrompt, SelectPrompt, InsertResponse, SelectResponse, InsertPair, SelectPair }) c.Dispose();
        }
    }
}
