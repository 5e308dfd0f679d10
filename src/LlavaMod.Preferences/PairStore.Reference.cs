using Dapper;
using LlavaMod.Core;

namespace LlavaMod.Preferences;

/// <summary>A pair that lacks the teacher's reference log-probs or token ids (typically an imported
/// pair), with what is needed to fill them. Token id arrays are null when not stored.</summary>
public sealed record PairNeedingReference(
    long PairId, long RunId, string RunName, long PromptId, string PromptText, int[]? PromptTokenIds, string? ImagePath, string? ImageKey,
    long ChosenId, string ChosenText, int[]? ChosenTokenIds, long RejectedId, string RejectedText, int[]? RejectedTokenIds,
    bool HasReference);

/// <summary>The teacher's summed log-prob and token count of both responses of a pair.</summary>
public sealed record ReferenceFill(long PairId, double ChosenLogp, int ChosenTokens, double RejectedLogp, int RejectedTokens);

public sealed partial class PairStore
{
    const string MissingReference =
        "(p.ref_chosen_logp IS NULL OR p.ref_rejected_logp IS NULL OR pr.token_ids IS NULL OR c.token_ids IS NULL OR r.token_ids IS NULL)";

    /// <summary>How many pairs lack reference log-probs or token ids.</summary>
    public long CountPairsNeedingReference() => _connection.ExecuteScalar<long>(
        $"SELECT count(*) FROM pairs p {RowJoins} WHERE {MissingReference}", transaction: _transaction);

    /// <summary>The next <paramref name="limit"/> pairs (id order, ids above <paramref name="afterId"/>,
    /// up to <paramref name="throughId"/>) that lack reference log-probs or token ids.</summary>
    public IReadOnlyList<PairNeedingReference> PairsNeedingReference(long afterId, int limit, long throughId = long.MaxValue)
    {
        var rows = _connection.Query(
            $"""
            SELECT p.id, p.run_id, ru.name AS run_name, pr.id AS prompt_id, pr.text AS prompt_text, pr.token_ids AS prompt_ids,
                   pr.image_path, pr.image_key, c.id AS c_id, c.text AS c_text, c.token_ids AS c_ids,
                   r.id AS r_id, r.text AS r_text, r.token_ids AS r_ids,
                   (p.ref_chosen_logp IS NOT NULL AND p.ref_rejected_logp IS NOT NULL) AS has_reference
            FROM pairs p {RowJoins}
            WHERE p.id > @afterId AND p.id <= @throughId AND {MissingReference}
            ORDER BY p.id LIMIT @limit
            """, new { afterId, limit, throughId }, _transaction);
        return rows.Select(row => new PairNeedingReference(
            (long)row.id, (long)row.run_id, (string)row.run_name, (long)row.prompt_id, (string)row.prompt_text,
            TokenIdBlob.DecodeOrNull((byte[]?)row.prompt_ids), (string?)row.image_path, (string?)row.image_key,
            (long)row.c_id, (string)row.c_text, TokenIdBlob.DecodeOrNull((byte[]?)row.c_ids),
            (long)row.r_id, (string)row.r_text, TokenIdBlob.DecodeOrNull((byte[]?)row.r_ids), (long)row.has_reference != 0)).ToList();
    }

    /// <summary>Image key and path of every pair (id order) that lacks reference log-probs or token ids:
    /// what the reference pass must find images for before it starts.</summary>
    public IReadOnlyList<(long PairId, string? ImageKey, string? ImagePath)> ImagesOfPairsNeedingReference() =>
        _connection.Query<(long, string?, string?)>(
            $"SELECT p.id, pr.image_key, pr.image_path FROM pairs p {RowJoins} WHERE {MissingReference} ORDER BY p.id",
            transaction: _transaction).AsList();

    /// <summary>The runs that have pairs lacking reference log-probs or token ids: id, name, recorded tokenizer.</summary>
    public IReadOnlyList<(long Id, string Name, string? Tokenizer)> RunsNeedingReference() =>
        _connection.Query<(long, string, string?)>(
            $"SELECT DISTINCT ru.id, ru.name, ru.tokenizer_fingerprint FROM pairs p {RowJoins} WHERE {MissingReference} ORDER BY ru.id",
            transaction: _transaction).AsList();

    /// <summary>The tokenizer fingerprint a run's token ids were made with, or null when not recorded.</summary>
    public string? RunTokenizer(long runId) =>
        _connection.ExecuteScalar<string?>("SELECT tokenizer_fingerprint FROM runs WHERE id = @runId", new { runId }, _transaction);

    /// <summary>Records the tokenizer of a run's token ids; refuses when another one is recorded.</summary>
    public void RecordRunTokenizer(long runId, string fingerprint)
    {
        EnsureWritable();
        string? recorded = RunTokenizer(runId);
        if (recorded is not null && recorded != fingerprint)
            throw LlavaModException.ForFile(Path, $"run {runId} was tokenized with tokenizer {recorded[..Math.Min(12, recorded.Length)]}…, not {fingerprint[..Math.Min(12, fingerprint.Length)]}…");
        _connection.Execute("UPDATE runs SET tokenizer_fingerprint = @fingerprint WHERE id = @runId", new { runId, fingerprint }, _transaction);
    }

    /// <summary>Stores a prompt's token ids unless it has some already.</summary>
    public void FillPromptTokens(long promptId, int[] ids)
    {
        EnsureWritable();
        _connection.Execute("UPDATE prompts SET token_ids = @blob WHERE id = @promptId AND token_ids IS NULL",
            new { promptId, blob = TokenIdBlob.Encode(ids) }, _transaction);
    }

    /// <summary>Stores a response's token ids and count unless it has ids already, and the length of its
    /// pairs that had none.</summary>
    public void FillResponseTokens(long responseId, int[] ids)
    {
        EnsureWritable();
        _connection.Execute("UPDATE responses SET token_ids = @blob, token_count = @count WHERE id = @responseId AND token_ids IS NULL",
            new { responseId, blob = TokenIdBlob.Encode(ids), count = ids.Length }, _transaction);
        _connection.Execute(
            """
            UPDATE pairs SET length = (SELECT max(c.token_count, r.token_count) FROM responses c, responses r
                                       WHERE c.id = pairs.chosen_id AND r.id = pairs.rejected_id)
            WHERE (chosen_id = @responseId OR rejected_id = @responseId) AND length IS NULL
            """, new { responseId }, _transaction);
    }

    /// <summary>Stores the reference log-probs of a pair that has none; returns 1 when it was updated.</summary>
    public int FillReference(ReferenceFill fill)
    {
        EnsureWritable();
        return _connection.Execute(
            """
            UPDATE pairs SET ref_chosen_logp = @ChosenLogp, ref_chosen_tokens = @ChosenTokens,
                             ref_rejected_logp = @RejectedLogp, ref_rejected_tokens = @RejectedTokens
            WHERE id = @PairId AND (ref_chosen_logp IS NULL OR ref_rejected_logp IS NULL)
            """, fill, _transaction);
    }
}
