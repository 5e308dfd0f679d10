using Dapper;
using LlavaMod.Core;

namespace LlavaMod.Preferences;

public sealed partial class PairStore
{
    const string RowColumns =
        """
        p.id AS Id, ru.name AS Run, p.split AS Split, p.source AS Source, p.chosen_score AS ChosenScore,
        p.rejected_score AS RejectedScore, p.gap AS Gap, p.severity AS Severity, p.length AS Length,
        c.token_count AS ChosenTokens, r.token_count AS RejectedTokens, p.ref_chosen_logp AS RefChosenLogp,
        p.ref_rejected_logp AS RefRejectedLogp, pr.image_path AS ImagePath,
        pr.text AS PromptText, c.text AS ChosenText, r.text AS RejectedText
        """;

    const string RowJoins =
        """
         JOIN runs ru ON ru.id = p.run_id JOIN prompts pr ON pr.id = p.prompt_id
         JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id
        """;

    /// <summary>One page of pairs matching the filters, in the query's order.</summary>
    public IReadOnlyList<PairRow> ListPairs(PairQuery query)
    {
        var (sql, args) = ListSql(query);
        return _connection.Query<PairRow>(sql, args, _transaction).AsList();
    }

    /// <summary>The statement <see cref="ListPairs"/> runs, with its arguments.</summary>
    internal (string Sql, DynamicParameters Args) ListSql(PairQuery query)
    {
        PairQuerySql.Validate(query);
        (long, double)? keyset = null;
        if (query.After is { } after)
        {
            double? key = _connection.ExecuteScalar<double?>(
                $"SELECT {PairQuerySql.SortExpression(query.Sort)} FROM pairs p WHERE p.id = @after", new { after }, _transaction);
            keyset = (after, key ?? throw LlavaModException.ForFile(Path, $"--after {after}: no pair with that id"));
        }
        var args = new DynamicParameters();
        string sql = $"SELECT {RowColumns} FROM pairs p {RowJoins}" + PairQuerySql.Where(query, args, keyset)
                     + PairQuerySql.OrderBy(query) + " LIMIT @Limit OFFSET @Offset";
        args.Add("Limit", query.Limit);
        args.Add("Offset", query.Offset);
        return (sql, args);
    }

    /// <summary>SQLite's plan for <paramref name="sql"/> (EXPLAIN QUERY PLAN detail lines).</summary>
    internal IReadOnlyList<string> QueryPlan(string sql, DynamicParameters args) =>
        _connection.Query<(long, long, long, string)>("EXPLAIN QUERY PLAN " + sql, args, _transaction).Select(r => r.Item4).AsList();

    /// <summary>How many pairs match the filters (paging ignored).</summary>
    public long CountPairs(PairQuery query)
    {
        var args = new DynamicParameters();
        return _connection.ExecuteScalar<long>("SELECT count(*) FROM pairs p" + PairQuerySql.Where(query, args), args, _transaction);
    }

    /// <summary>The pair with that id, in full, or null.</summary>
    public PairDetail? GetPair(long id)
    {
        var row = _connection.QuerySingleOrDefault(
            """
            SELECT p.id, ru.name AS run, p.split, p.source, pr.prompt_key, pr.text AS prompt_text, pr.image_key, pr.image_path,
                   pr.meta_json, p.gap, p.severity, p.ref_chosen_logp, p.ref_chosen_tokens, p.ref_rejected_logp, p.ref_rejected_tokens,
                   c.id AS c_id, c.text AS c_text, c.token_count AS c_tokens, c.score AS c_score, c.claims_json AS c_claims, c.sampler_logp AS c_logp,
                   r.id AS r_id, r.text AS r_text, r.token_count AS r_tokens, r.score AS r_score, r.claims_json AS r_claims, r.sampler_logp AS r_logp
            FROM pairs p JOIN runs ru ON ru.id = p.run_id JOIN prompts pr ON pr.id = p.prompt_id
            JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id
            WHERE p.id = @id
            """, new { id }, _transaction);
        if (row is null) return null;
        return new PairDetail(
            (long)row.id, (string)row.run, (string)row.split, (string)row.source, (string)row.prompt_key, (string)row.prompt_text,
            (string?)row.image_key, (string?)row.image_path, (string?)row.meta_json,
            new ResponseDetail((long)row.c_id, (string)row.c_text, (long?)row.c_tokens, (double?)row.c_score, (string?)row.c_claims, (double?)row.c_logp),
            new ResponseDetail((long)row.r_id, (string)row.r_text, (long?)row.r_tokens, (double?)row.r_score, (string?)row.r_claims, (double?)row.r_logp),
            (double?)row.gap, (double)row.severity, (double?)row.ref_chosen_logp, (long?)row.ref_chosen_tokens,
            (double?)row.ref_rejected_logp, (long?)row.ref_rejected_tokens);
    }

    /// <summary>The pairs of a split in id order, streamed: what the preference-distillation stage reads.</summary>
    public IEnumerable<PreferencePair> EnumerateTrainingPairs(PairSplit split)
    {
        var rows = _connection.Query<TrainingRow>(
            """
            SELECT p.id AS PairId, pr.text AS PromptText, pr.image_path AS ImagePath, pr.image_key AS ImageKey, pr.token_ids AS PromptTokenIds,
                   c.text AS ChosenText, c.token_ids AS ChosenTokenIds, r.text AS RejectedText, r.token_ids AS RejectedTokenIds,
                   p.ref_chosen_logp AS RefChosenLogp, p.ref_rejected_logp AS RefRejectedLogp, p.severity AS Severity
            FROM pairs p JOIN prompts pr ON pr.id = p.prompt_id
            JOIN responses c ON c.id = p.chosen_id JOIN responses r ON r.id = p.rejected_id
            WHERE p.split = @Split ORDER BY p.id
            """, new { Split = SplitName(split) }, _transaction, buffered: false);
        foreach (var t in rows)
            yield return new PreferencePair(t.PairId, t.PromptText, t.ImagePath, t.ImageKey, TokenIdBlob.DecodeOrNull(t.PromptTokenIds),
                t.ChosenText, TokenIdBlob.DecodeOrNull(t.ChosenTokenIds), t.RejectedText, TokenIdBlob.DecodeOrNull(t.RejectedTokenIds),
                t.RefChosenLogp, t.RefRejectedLogp, t.Severity);
    }

    /// <inheritdoc cref="EnumerateTrainingPairs(PairSplit)"/>
    public IEnumerable<PreferencePair> EnumerateTrainingPairs(string split) => EnumerateTrainingPairs(ParseSplit(split));

    sealed record TrainingRow(
        long PairId, string PromptText, string? ImagePath, string? ImageKey, byte[]? PromptTokenIds,
        string ChosenText, byte[]? ChosenTokenIds, string RejectedText, byte[]? RejectedTokenIds,
        double? RefChosenLogp, double? RefRejectedLogp, double Severity);

    /// <summary>The runs that have pairs in <paramref name="split"/>: name and the tokenizer their token ids were made with (null: not recorded).</summary>
    public IReadOnlyList<(string Name, string? Tokenizer)> RunTokenizers(string split) =>
        _connection.Query<(string, string?)>(
            $"SELECT DISTINCT ru.name, ru.tokenizer_fingerprint FROM pairs p {RowJoins} WHERE p.split = @Split ORDER BY ru.id",
            new { Split = SplitName(ParseSplit(split)) }, _transaction).AsList();

    /// <summary>Names of all runs, oldest first.</summary>
    public IReadOnlyList<string> ListRuns() =>
        _connection.Query<string>("SELECT name FROM runs ORDER BY id", transaction: _transaction).AsList();
}
