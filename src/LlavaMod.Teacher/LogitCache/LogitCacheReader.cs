using System.Runtime.CompilerServices;
using LlavaMod.Core;
using Parquet;

namespace LlavaMod.Teacher.LogitCache;

/// <summary>
/// Reads a logit cache written by <see cref="LogitCacheWriter"/>: rows in file order or by key.
/// Opening reads the footer and the key column of every row group (the key index); a row is
/// decoded from its row group on demand, and the last row group read is kept for the next lookup.
/// A file that is truncated, corrupt or not a logit cache gives a <see cref="LlavaModException"/>
/// naming it.
/// </summary>
public sealed class LogitCacheReader : IAsyncDisposable
{
    readonly string _path;
    readonly FileStream _stream;
    readonly ParquetReader _reader;
    readonly Dictionary<string, (int RowGroup, int Index)> _index;
    readonly List<string> _keys;
    readonly long[] _rowGroupStarts;
    (int RowGroup, RawRowGroup Rows)? _cached;

    public LogitCacheMetadata Metadata { get; }
    /// <summary>All keys in file order.</summary>
    public IReadOnlyList<string> Keys => _keys;
    public long TokenCount { get; }

    LogitCacheReader(string path, FileStream stream, ParquetReader reader, LogitCacheMetadata metadata,
                     List<string> keys, Dictionary<string, (int, int)> index, long[] rowGroupStarts, long tokens)
    {
        (_path, _stream, _reader, Metadata, _keys, _index, _rowGroupStarts, TokenCount) = (path, stream, reader, metadata, keys, index, rowGroupStarts, tokens);
    }

    public static async Task<LogitCacheReader> OpenAsync(string path, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw LlavaModException.ForFile(path, "logit cache not found");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        ParquetReader? reader = null;
        try
        {
            reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: ct);
            if (!reader.CustomMetadata.TryGetValue(LogitCacheMetadata.MetadataKey, out var json))
                throw LlavaModException.ForFile(path, $"is a Parquet file but not a logit cache (no '{LogitCacheMetadata.MetadataKey}' metadata)");
            var metadata = LogitCacheMetadata.FromJson(json, path);
            var keys = new List<string>();
            var index = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
            var starts = new long[reader.RowGroupCount];
            long tokens = 0;
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                starts[g] = keys.Count;
                using var rg = reader.OpenRowGroupReader(g);
                var groupKeys = new string?[rg.RowCount];
                var counts = new int[rg.RowCount];
                await rg.ReadAsync(LogitCacheSchema.Key, groupKeys.AsMemory(), cancellationToken: ct);
                await rg.ReadAsync<int>(LogitCacheSchema.TokenCount, counts.AsMemory(), cancellationToken: ct);
                for (int i = 0; i < groupKeys.Length; i++)
                {
                    string key = groupKeys[i] ?? throw LlavaModException.ForRow(path, keys.Count, "has no key");
                    if (!index.TryAdd(key, (g, i)))
                        throw LlavaModException.ForRow(path, keys.Count, $"key '{key}' appears twice");
                    keys.Add(key);
                    tokens += counts[i];
                }
            }
            return new LogitCacheReader(path, stream, reader, metadata, keys, index, starts, tokens);
        }
        catch (Exception e) when (e is not LlavaModException and not OperationCanceledException)
        {
            if (reader is not null) await reader.DisposeAsync();
            await stream.DisposeAsync();
            throw Corrupt(path, e);
        }
        catch
        {
            if (reader is not null) await reader.DisposeAsync();
            await stream.DisposeAsync();
            throw;
        }
    }

    public bool Contains(string key) => _index.ContainsKey(key);

    /// <summary>The row stored under <paramref name="key"/>; a missing key is a <see cref="LlavaModException"/>.</summary>
    public async Task<TopKRow> ReadAsync(string key, CancellationToken ct = default)
    {
        if (!_index.TryGetValue(key, out var at))
            throw LlavaModException.ForFile(_path, $"has no teacher outputs for key '{key}' (was the cache built from the same shards?)");
        var rows = await LoadRowGroupAsync(at.RowGroup, ct);
        return Decode(rows, at.Index, _rowGroupStarts[at.RowGroup] + at.Index);
    }

    /// <summary>Every row in file order.</summary>
    public async IAsyncEnumerable<TopKRow> ReadAllAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        for (int g = 0; g < _reader.RowGroupCount; g++)
        {
            var rows = await LoadRowGroupAsync(g, ct);
            for (int i = 0; i < rows.Keys.Length; i++)
                yield return Decode(rows, i, _rowGroupStarts[g] + i);
        }
    }

    sealed record RawRowGroup(string?[] Keys, int[] Counts, byte[]?[] Ids, byte[]?[] Top1, byte[]?[] Gaps, byte[]?[] Tail);

    async Task<RawRowGroup> LoadRowGroupAsync(int g, CancellationToken ct)
    {
        if (_cached is { } c && c.RowGroup == g) return c.Rows;
        try
        {
            using var rg = _reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            var raw = new RawRowGroup(new string?[n], new int[n], new byte[]?[n], new byte[]?[n], new byte[]?[n], new byte[]?[n]);
            await rg.ReadAsync(LogitCacheSchema.Key, raw.Keys.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync<int>(LogitCacheSchema.TokenCount, raw.Counts.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(LogitCacheSchema.Ids, raw.Ids.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(LogitCacheSchema.Top1, raw.Top1.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(LogitCacheSchema.Gaps, raw.Gaps.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(LogitCacheSchema.Tail, raw.Tail.AsMemory(), cancellationToken: ct);
            _cached = (g, raw);
            return raw;
        }
        catch (Exception e) when (e is not LlavaModException and not OperationCanceledException)
        {
            throw Corrupt(_path, e, $"row group {g}");
        }
    }

    TopKRow Decode(RawRowGroup raw, int i, long fileRow)
    {
        int k = Metadata.K, tokens = raw.Counts[i], bits = Metadata.IdBits;
        // Parquet may hand back an empty byte string as null (rows with no tokens, k = 1 gaps).
        byte[] ids = raw.Ids[i] ?? [], top1 = raw.Top1[i] ?? [], gaps = raw.Gaps[i] ?? [], tail = raw.Tail[i] ?? [];
        string? key = raw.Keys[i];
        if (tokens < 0 || key is null)
            throw LlavaModException.ForRow(_path, fileRow, "missing column values");
        if (ids.Length != IdBitPacking.PackedLength(tokens * k, bits) || top1.Length != 4 * tokens || tail.Length != 4 * tokens)
            throw LlavaModException.ForRow(_path, fileRow, $"column sizes do not match {tokens} tokens of k = {k} (ids {ids.Length} B, top1 {top1.Length} B, tail {tail.Length} B)");
        var flatIds = new int[tokens * k];
        IdBitPacking.Unpack(ids, bits, flatIds);
        var rowIds = new int[tokens][];
        var rowLogProbs = new float[tokens][];
        var rowTail = new float[tokens];
        int offset = 0;
        try
        {
            for (int t = 0; t < tokens; t++)
            {
                rowIds[t] = flatIds.AsSpan(t * k, k).ToArray();
                if (rowIds[t].Any(id => id >= Metadata.VocabSize))
                    throw new InvalidDataException($"token {t} has an id ≥ vocab size {Metadata.VocabSize}");
                rowLogProbs[t] = new float[k];
                offset += LogProbGapCodec.DecodeGaps(LogProbGapCodec.ReadFloat(top1, t), gaps.AsSpan(offset), Metadata.GapStep, rowLogProbs[t]);
                rowTail[t] = LogProbGapCodec.ReadFloat(tail, t);
            }
            if (offset != gaps.Length) throw new InvalidDataException($"{gaps.Length - offset} unused bytes after the gap codes");
        }
        catch (InvalidDataException e)
        {
            throw LlavaModException.ForRow(_path, fileRow, $"key '{key}': {e.Message}", e);
        }
        return new TopKRow(key, rowIds, rowLogProbs, rowTail);
    }

    static LlavaModException Corrupt(string path, Exception e, string? where = null) =>
        LlavaModException.ForFile(path, $"not a readable logit cache{(where is null ? "" : $" ({where})")}: the file is truncated or corrupt, or not Parquet ({e.GetType().Name}: {e.Message}). Rebuild it with the teacher cache command.", e);

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync();
        await _stream.DisposeAsync();
    }
}
