using System.Runtime.CompilerServices;
using LlavaMod.Core;
using Parquet;
using Parquet.Schema;

namespace LlavaMod.LogitCache;

/// <summary>
/// Reads a logit cache written by <see cref="LogitCacheWriter"/>: rows in file order or by key.
/// Opening reads the footer and the key column of every row group (the key index); a row is
/// decoded from its row group on demand; the row groups read are kept in a <see cref="RowGroupCache"/> (shared by the
/// readers of one cache, or the reader's own, which keeps the last group) for the next lookups.
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
    readonly RowGroupCache _rowGroups;

    public LogitCacheMetadata Metadata { get; }
    /// <summary>All keys in file order.</summary>
    public IReadOnlyList<string> Keys => _keys;
    public long TokenCount { get; }

    LogitCacheReader(string path, FileStream stream, ParquetReader reader, LogitCacheMetadata metadata,
                     List<string> keys, Dictionary<string, (int, int)> index, long[] rowGroupStarts, long tokens, RowGroupCache rowGroups)
    {
        (_path, _stream, _reader, Metadata, _keys, _index, _rowGroupStarts, TokenCount) = (path, stream, reader, metadata, keys, index, rowGroupStarts, tokens);
        _rowGroups = rowGroups;
    }

    /// <summary>The reader's own row group cache when none is shared: the last group read (the budget keeps no other).</summary>
    const long OwnCacheBytes = 1;

    /// <param name="rowGroups">Where the row groups read are kept: one cache shared by the readers of a logit cache
    /// (<see cref="LogitCacheSet"/>), or null for the reader's own small one.</param>
    public static async Task<LogitCacheReader> OpenAsync(string path, CancellationToken ct = default, RowGroupCache? rowGroups = null)
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
                await rg.ReadAsync(FileField(reader, LogitCacheSchema.Key, path), groupKeys.AsMemory(), cancellationToken: ct);
                await rg.ReadAsync<int>(FileField(reader, LogitCacheSchema.TokenCount, path), counts.AsMemory(), cancellationToken: ct);
                for (int i = 0; i < groupKeys.Length; i++)
                {
                    string key = groupKeys[i] ?? throw LlavaModException.ForRow(path, keys.Count, "has no key");
                    if (!index.TryAdd(key, (g, i)))
                        throw LlavaModException.ForRow(path, keys.Count, $"key '{key}' appears twice");
                    keys.Add(key);
                    tokens += counts[i];
                }
            }
            return new LogitCacheReader(path, stream, reader, metadata, keys, index, starts, tokens, rowGroups ?? new RowGroupCache(OwnCacheBytes));
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

    sealed record RawRowGroup(string?[] Keys, int[] Counts, int[] Dictionary, byte[]?[][] IdPlanes, byte[]?[] Top1, byte[]?[] Gaps, byte[]?[] Tail)
    {
        /// <summary>About the memory the group holds: its byte strings, keys and counts, 32 bytes of overhead per array.</summary>
        public long Bytes()
        {
            static long Of(byte[]?[] column) => column.Sum(b => 32L + (b?.Length ?? 0));
            return IdPlanes.Sum(Of) + Of(Top1) + Of(Gaps) + Of(Tail) + Keys.Sum(k => 32L + 2L * (k?.Length ?? 0)) + 4L * (Counts.Length + Dictionary.Length);
        }
    }

    async Task<RawRowGroup> LoadRowGroupAsync(int g, CancellationToken ct)
    {
        if (_rowGroups.TryGet(this, g, out RawRowGroup cached)) return cached;
        try
        {
            using var rg = _reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            var planes = Enumerable.Range(0, Metadata.IdPlanes).Select(_ => new byte[]?[n]).ToArray();
            var dictionaries = new byte[]?[n];
            await rg.ReadAsync(FileField(_reader, LogitCacheSchema.Dictionary, _path), dictionaries.AsMemory(), cancellationToken: ct);
            int[] dictionary = n == 0 ? [] : IdDictionary.Deserialize(dictionaries[0] ?? [], Metadata.IdPlanes);
            var raw = new RawRowGroup(new string?[n], new int[n], dictionary, planes, new byte[]?[n], new byte[]?[n], new byte[]?[n]);
            await rg.ReadAsync(FileField(_reader, LogitCacheSchema.Key, _path), raw.Keys.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync<int>(FileField(_reader, LogitCacheSchema.TokenCount, _path), raw.Counts.AsMemory(), cancellationToken: ct);
            for (int b = 0; b < planes.Length; b++)
                await rg.ReadAsync(FileField(_reader, LogitCacheSchema.IdPlane(b), _path), planes[b].AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(FileField(_reader, LogitCacheSchema.Top1, _path), raw.Top1.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(FileField(_reader, LogitCacheSchema.Gaps, _path), raw.Gaps.AsMemory(), cancellationToken: ct);
            await rg.ReadAsync(FileField(_reader, LogitCacheSchema.Tail, _path), raw.Tail.AsMemory(), cancellationToken: ct);
            _rowGroups.Add(this, g, raw, raw.Bytes());
            return raw;
        }
        catch (Exception e) when (e is not LlavaModException and not OperationCanceledException)
        {
            throw Corrupt(_path, e, $"row group {g}");
        }
    }

    TopKRow Decode(RawRowGroup raw, int i, long fileRow)
    {
        int k = Metadata.K, tokens = raw.Counts[i];
        // Parquet may hand back an empty byte string as null (rows with no tokens, k = 1 gaps).
        byte[][] planes = raw.IdPlanes.Select(p => p[i] ?? []).ToArray();
        byte[] top1 = raw.Top1[i] ?? [], gaps = raw.Gaps[i] ?? [], tail = raw.Tail[i] ?? [];
        string? key = raw.Keys[i];
        if (tokens < 0 || key is null)
            throw LlavaModException.ForRow(_path, fileRow, "missing column values");
        var rowIds = new int[tokens][];
        var rowLogProbs = new float[tokens][];
        var rowTail = new float[tokens];
        if (top1.Length != 4 * tokens)
            throw LlavaModException.ForRow(_path, fileRow, $"key '{key}': top-1 column holds {top1.Length} B, expected 4 per token for {tokens} tokens");
        try
        {
            var flatIds = new int[tokens * k];
            IdBytePlanes.Join(planes, flatIds);
            IdDictionary.FromRanks(flatIds, raw.Dictionary);
            int gapOffset = 0, tailOffset = 0;
            for (int t = 0; t < tokens; t++)
            {
                rowIds[t] = flatIds.AsSpan(t * k, k).ToArray();
                if (rowIds[t].Any(id => id >= Metadata.VocabSize))
                    throw new InvalidDataException($"token {t} has an id ≥ vocab size {Metadata.VocabSize}");
                rowLogProbs[t] = new float[k];
                LogProbGapCodec.Decode(top1, t, gaps, ref gapOffset, Metadata.GapStep, rowLogProbs[t]);
                rowTail[t] = LogProbGapCodec.DecodeTail(tail, ref tailOffset, Metadata.GapStep);
            }
            if (gapOffset != gaps.Length || tailOffset != tail.Length)
                throw new InvalidDataException($"code columns hold more than {tokens} tokens of k = {k} (top-1 {top1.Length} B, gaps {gaps.Length} B, tail {tail.Length} B)");
        }
        catch (InvalidDataException e)
        {
            throw LlavaModException.ForRow(_path, fileRow, $"key '{key}': {e.Message}", e);
        }
        return new TopKRow(key, rowIds, rowLogProbs, rowTail);
    }

    static LlavaModException Corrupt(string path, Exception e, string? where = null) =>
        LlavaModException.ForFile(path, $"not a readable logit cache{(where is null ? "" : $" ({where})")}: the file is truncated or corrupt, or not Parquet ({e.GetType().Name}: {e.Message}). Rebuild it with the teacher cache command.", e);

    /// <summary>
    /// The file's own column of that name. Parquet.Net fills a field's definition levels in when a
    /// schema holding it is built, so the schema constants are only usable for reading in a
    /// process that also wrote a cache; the file's fields always are.
    /// </summary>
    static DataField FileField(ParquetReader reader, DataField expected, string path) =>
        reader.Schema.DataFields.FirstOrDefault(f => f.Name == expected.Name)
        ?? throw LlavaModException.ForFile(path, $"has no '{expected.Name}' column: not a logit cache of this format");

    public async ValueTask DisposeAsync()
    {
        _rowGroups.Forget(this);
        await _reader.DisposeAsync();
        await _stream.DisposeAsync();
    }
}
