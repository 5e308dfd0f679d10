using LlavaMod.Core;
using Parquet;

namespace LlavaMod.LogitCache;

/// <summary>
/// Writes a teacher logit cache (Parquet, zstd) row by row. The file appears under its final name
/// only after <see cref="CompleteAsync"/>; until then it is a temp file beside it, deleted if the
/// writer is disposed without completing.
/// </summary>
public sealed class LogitCacheWriter : IAsyncDisposable
{
    readonly string _path, _tempPath;
    readonly FileStream _stream;
    readonly ParquetWriter _writer;
    readonly List<EncodedRow> _pending = [];
    readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    bool _completed;

    public LogitCacheMetadata Metadata { get; }
    public long RowsWritten { get; private set; }
    public long TokensWritten { get; private set; }

    LogitCacheWriter(string path, string tempPath, FileStream stream, ParquetWriter writer, LogitCacheMetadata metadata)
    {
        (_path, _tempPath, _stream, _writer, Metadata) = (path, tempPath, stream, writer, metadata);
    }

    public static async Task<LogitCacheWriter> CreateAsync(string path, LogitCacheMetadata metadata, CancellationToken ct = default)
    {
        metadata.Validate(path);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + AtomicFile.TempMarker + Guid.NewGuid().ToString("N")[..8];
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        try
        {
            var writer = await ParquetWriter.CreateAsync(LogitCacheSchema.Schema(metadata.IdPlanes), stream, WriterOptions, cancellationToken: ct);
            writer.CustomMetadata = new Dictionary<string, string> { [LogitCacheMetadata.MetadataKey] = metadata.ToJson() };
            return new LogitCacheWriter(full, temp, stream, writer, metadata);
        }
        catch
        {
            await stream.DisposeAsync();
            File.Delete(temp);
            throw;
        }
    }

    internal static ParquetOptions WriterOptions => new() { CompressionMethod = CompressionMethod.Zstd };

    public Task AppendAsync(TopKRow row, CancellationToken ct = default) =>
        AppendAsync(row.Key, row.Ids, row.LogProbs, row.TailLogMass, ct);

    /// <summary>
    /// Adds one data row: per supervised token, k ids in [0, vocab) (distinct for the top-k scheme),
    /// their log-probs (any order: they are sorted here, descending), and the tail log-mass (≤ 0, −∞ allowed).
    /// </summary>
    public async Task AppendAsync(string key, int[][] ids, float[][] logProbs, float[] tailLogMass, CancellationToken ct = default)
    {
        if (_completed) throw new InvalidOperationException("the cache is already complete");
        if (!_keys.Add(key)) throw new LlavaModException($"{_path}: key '{key}' appended twice");
        _pending.Add(Encode(key, ids, logProbs, tailLogMass));
        RowsWritten++;
        TokensWritten += ids.Length;
        if (_pending.Count >= Metadata.RowGroupRows) await FlushAsync(ct);
    }

    /// <summary>Writes the last row group and the footer, fsyncs and renames the file into place.</summary>
    public async Task CompleteAsync(CancellationToken ct = default)
    {
        if (_completed) return;
        await FlushAsync(ct);
        await _writer.DisposeAsync();
        await _stream.FlushAsync(ct);
        _stream.Flush(flushToDisk: true);
        await _stream.DisposeAsync();
        File.Move(_tempPath, _path, overwrite: true);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_completed) return;
        _completed = true;
        try { await _writer.DisposeAsync(); } catch (Exception) { /* abandoning the file anyway */ }
        await _stream.DisposeAsync();
        File.Delete(_tempPath);
    }

    async Task FlushAsync(CancellationToken ct)
    {
        if (_pending.Count == 0) return;
        using (var rg = _writer.CreateRowGroup())
        {
            await rg.WriteAsync(LogitCacheSchema.Key, _pending.Select(r => r.Key).ToArray());
            await rg.WriteAsync<int>(LogitCacheSchema.TokenCount, _pending.Select(r => r.TokenCount).ToArray().AsMemory(), cancellationToken: ct);
            var ids = _pending.SelectMany(r => r.Ids).ToArray();
            int[] dictionary = IdDictionary.Choose(ids, Metadata.IdPlanes);
            IdDictionary.ToRanks(ids, dictionary);
            var rowPlanes = new List<byte[][]>(_pending.Count);
            int at = 0;
            foreach (var r in _pending) { rowPlanes.Add(IdBytePlanes.Split(ids.AsSpan(at, r.Ids.Length), Metadata.IdPlanes)); at += r.Ids.Length; }
            // The dictionary rides on the group's first row; the other rows hold an empty string.
            await rg.WriteAsync(LogitCacheSchema.Dictionary, _pending.Select((_, i) => i == 0 ? IdDictionary.Serialize(dictionary, Metadata.IdPlanes) : []).ToArray());
            for (int b = 0; b < Metadata.IdPlanes; b++)
                await rg.WriteAsync(LogitCacheSchema.IdPlane(b), rowPlanes.Select(p => p[b]).ToArray());
            await rg.WriteAsync(LogitCacheSchema.Top1, _pending.Select(r => r.Top1).ToArray());
            await rg.WriteAsync(LogitCacheSchema.Gaps, _pending.Select(r => r.Gaps).ToArray());
            await rg.WriteAsync(LogitCacheSchema.Tail, _pending.Select(r => r.Tail).ToArray());
        }
        _pending.Clear();
    }

    sealed record EncodedRow(string Key, int TokenCount, int[] Ids, byte[] Top1, byte[] Gaps, byte[] Tail);

    EncodedRow Encode(string key, int[][] ids, float[][] logProbs, float[] tail)
    {
        int k = Metadata.K, tokens = ids.Length;
        if (logProbs.Length != tokens || tail.Length != tokens)
            throw Bad(key, $"{tokens} id lists, {logProbs.Length} log-prob lists and {tail.Length} tail values: all must have one entry per supervised token");
        var sortedIds = new int[tokens * k];
        var order = new int[k];
        var sorted = new float[k];
        var top1 = new List<byte>(tokens * 4);
        var gaps = new List<byte>(tokens * k);
        var tailCodes = new List<byte>(tokens);
        var seen = new HashSet<int>();
        for (int t = 0; t < tokens; t++)
        {
            if (ids[t].Length != k || logProbs[t].Length != k)
                throw Bad(key, $"token {t} has {ids[t].Length} ids and {logProbs[t].Length} log-probs, expected k = {k}");
            seen.Clear();
            for (int j = 0; j < k; j++)
            {
                int id = ids[t][j];
                float lp = logProbs[t][j];
                if (id < 0 || id >= Metadata.VocabSize) throw Bad(key, $"token {t}: id {id} outside the vocabulary [0, {Metadata.VocabSize})");
                if (!seen.Add(id) && Metadata.Scheme == LogitCacheScheme.TopKTail) throw Bad(key, $"token {t}: id {id} appears twice in the top-k");
                if (!float.IsFinite(lp) || lp > 1e-4f) throw Bad(key, $"token {t}: log-prob {lp} of id {id} is not a finite value ≤ 0");
                order[j] = j;
            }
            float[] row = logProbs[t];
            Array.Sort(order, (a, b) => row[b].CompareTo(row[a]) is var c && c != 0 ? c : a.CompareTo(b));
            for (int j = 0; j < k; j++) { sorted[j] = Math.Min(row[order[j]], 0f); sortedIds[t * k + j] = ids[t][order[j]]; }
            if (float.IsNaN(tail[t]) || tail[t] > 1e-4f) throw Bad(key, $"token {t}: tail log-mass {tail[t]} is not ≤ 0");
            LogProbGapCodec.Encode(sorted, Metadata.GapStep, top1, gaps);
            LogProbGapCodec.EncodeTail(tail[t], Metadata.GapStep, tailCodes);
        }
        return new EncodedRow(key, tokens, sortedIds, top1.ToArray(), gaps.ToArray(), tailCodes.ToArray());
    }

    LlavaModException Bad(string key, string reason) => new($"{_path}, key '{key}': {reason}");
}
