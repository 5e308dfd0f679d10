using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;

namespace LlavaMod.Data.Etl;

/// <summary>
/// `llavamod shard`: inputs → shards + manifest.
/// Design: the inputs, read in order, number their rows 0, 1, 2, … (source rows). Source block k holds
/// source rows [k·R, (k+1)·R) and becomes shard k (file k.parquet), holding the block's accepted rows in
/// order. Assignment depends only on the inputs, so (1) any thread count writes the same bytes (rows
/// are processed in parallel and written in order), (2) a resumed run skips finished blocks by
/// replaying only the cheap readers (no image decoding or tokenization), and (3) a split job gives
/// worker i the blocks k with k mod n = i; `merge` joins them into the dataset a single run makes.
/// Duplicates (same original image bytes and conversation) are dropped first-occurrence-wins across
/// the whole run; across workers `merge` drops them.
/// </summary>
public sealed class ShardPipeline
{
    /// <summary>Processed rows waiting for the ones before them hold at most about this many bytes (plus the rows in
    /// flight): in `--resize keep` mode a row's image may be up to the 64 MB file limit.</summary>
    const long MaxWaitingRowBytes = 512L << 20;

    readonly ShardJobOptions _options;
    readonly IConversationEncoder _encoder;
    readonly IImageStage _images;

    public ShardPipeline(ShardJobOptions options, IConversationEncoder encoder, IImageStage images)
    {
        options.Validate();
        _options = options; _encoder = encoder; _images = images;
    }

    /// <summary>Progress, about every 256 rows and at each block end.</summary>
    public Action<ShardProgress>? Progress { get; init; }
    /// <summary>Called after each block is journaled (tests use it to simulate a kill).</summary>
    public Action<BlockRecord>? BlockFinished { get; init; }
    public Action<string>? Warn { get; init; }

    public async Task<DatasetManifest> RunAsync(CancellationToken ct = default)
    {
        string outDir = Path.GetFullPath(_options.OutputDir);
        Directory.CreateDirectory(outDir);
        AtomicFile.CleanStaleTempFiles(outDir);
        var journal = new BlockJournal(outDir);

        var inputs = FingerprintInputs();
        var kind = _options.Kind ?? await DetectKindAsync(ct);
        var settings = new ShardSettings(ToolInfo.Version, kind, _encoder.TokenizerFingerprint, _encoder.TemplateName,
            _encoder.Fingerprint, _images.SettingsFingerprint, _options.BlockRows, _options.Format.RowGroupRows, _options.Format.RowGroupBytes, _options.Format.MaxShardBytes,
            ShardFormat.Compression, _options.KeyIndexDigits, _options.KeepDuplicates, _options.Reader.CaptionPrompt, inputs);
        CheckOrSaveSettings(journal, settings);

        var done = FinishedPrefix(journal.ReadIntact(outDir, Warn));
        if (done.Count > 0 && !_options.Resume)
            throw new LlavaModException($"{outDir}: holds {done.Count} finished shard(s) of an earlier run; pass --resume to keep them, or use an empty folder");
        var seen = _options.KeepDuplicates ? new HashSet<UInt128>() : await LoadDedupKeysAsync(outDir, journal, done.Values, kind, ct);

        var counts = new long[_options.Inputs.Count];
        long read = 0, skipped = 0;
        var position = new ReadPosition();
        var reader = _options.Reader with { Position = position };
        long totalBytes = inputs.Sum(f => f.Bytes), doneBytes = 0;
        _bytes = () => (Interlocked.Read(ref doneBytes) + position.Bytes, totalBytes);
        async IAsyncEnumerable<(SourceInput, SourceRecord, long)> Owned()
        {
            for (int i = 0; i < _options.Inputs.Count; i++)
            {
                position.Set(0);
                await foreach (var record in SourceReaders.Read(_options.Inputs[i], reader, ct))
                {
                    long row = read++;
                    counts[i]++;
                    long block = row / _options.BlockRows;
                    if (!_options.OwnsBlock(block) || done.ContainsKey(block)) { skipped++; continue; }
                    yield return (_options.Inputs[i], record, row);
                }
                Interlocked.Add(ref doneBytes, inputs[i].Bytes);
                position.Set(0);
            }
        }

        var processor = new RowProcessor(_encoder, _images, kind, _options.BlockRows, _options.KeyIndexDigits);
        int window = _options.Threads * 16; // rows waiting to be written in order: at most this many, and MaxWaitingRowBytes
        await using (var assembler = kind == ShardKind.Sft
            ? (IBlockAssembler)new BlockAssembler<ShardRow>(_options, journal, seen, BlockFinished)
            : new BlockAssembler<PreferenceShardRow>(_options, journal, seen, BlockFinished))
        {
            long n = 0;
            await foreach (var outcome in OrderedParallel.MapAsync(Owned(), t => processor.Process(t.Item1, t.Item2, t.Item3), _options.Threads, window, ct,
                               outcome => outcome.Row?.EstimatedBytes() ?? 0, MaxWaitingRowBytes))
            {
                await assembler.AddAsync(outcome, ct);
                if (++n % 256 == 0) Report(assembler, read, skipped);
            }
            await assembler.FinishBlockAsync(ct);
            Report(assembler, read, skipped);
        }

        var fingerprints = inputs.Select((f, i) => f with { SourceRows = counts[i] }).ToList();
        foreach (var f in fingerprints)
            if (f.ExpectedRows is long expected && expected != f.SourceRows)
                Warn?.Invoke($"{f.File}: the source manifest expects {expected} rows, the file has {f.SourceRows}");

        long blocks = (read + _options.BlockRows - 1) / _options.BlockRows;
        var records = new List<BlockRecord>();
        for (long b = 0; b < blocks; b++)
        {
            if (!_options.OwnsBlock(b)) continue;
            records.Add(journal.TryRead(b) ?? throw new LlavaModException($"{outDir}: block {b} has no journal entry after the run (was the folder changed meanwhile?)"));
        }
        DatasetManifest manifest;
        if (_options.IsWorker)
        {
            manifest = settings.ToManifest(read, fingerprints, records, _options.Worker, _options.Workers) with { VocabularySize = _encoder.VocabularySize };
            manifest.Save(outDir, DatasetManifest.WorkerFileName(_options.Worker, _options.Workers));
        }
        else
        {
            manifest = settings.ToManifest(read, fingerprints, records, null, null) with { VocabularySize = _encoder.VocabularySize };
            ShardSettings.WriteRejects(outDir, records);
            RejectShareCheck.Require(manifest, outDir, _options.MaxRejectShare, records.SelectMany(r => r.Rejects));
            manifest.Save(outDir);
        }
        return manifest;
    }

    Func<(long Read, long Total)> _bytes = () => (0, 0);

    void Report(IBlockAssembler assembler, long read, long skipped)
    {
        var t = assembler.Totals;
        var (bytesRead, bytesTotal) = _bytes();
        Progress?.Invoke(new ShardProgress(read, t.Rows, t.Rejected, t.DuplicatesDropped, assembler.ShardsWritten, skipped, bytesRead, bytesTotal));
    }

    IReadOnlyList<InputFingerprint> FingerprintInputs()
    {
        var list = new List<InputFingerprint>();
        foreach (var input in _options.Inputs)
        {
            string name = Path.GetFileName(input.Path);
            string sha = Hashing.Sha256OfFile(input.Path);
            if (_options.ExpectedSha256?.GetValueOrDefault(name) is { } want && !string.Equals(want, sha, StringComparison.OrdinalIgnoreCase))
                throw LlavaModException.ForFile(input.Path, $"sha256 is {sha}, the source manifest says {want}");
            long? unread = null;
            if (input.Format == SourceFormat.LlavaJson && JsonArrayCheck.Scan(input.Path) is { } damage)
            {
                if (!_options.AllowPartialSource)
                    throw LlavaModException.ForFile(input.Path, $"cannot be read to its end: {damage}; fix the file, or pass --allow-partial-source to keep the rows before the break");
                Warn?.Invoke($"{input.Path}: {damage} (--allow-partial-source)");
                unread = damage.UnreadBytes;
            }
            list.Add(new InputFingerprint(name, input.Format.ToString(), new FileInfo(input.Path).Length, sha, 0,
                _options.ExpectedRows?.GetValueOrDefault(name) is long e and > 0 ? e : null, unread));
        }
        return list;
    }

    async Task<ShardKind> DetectKindAsync(CancellationToken ct)
    {
        await foreach (var (_, record) in SourceReaders.ReadAll(_options.Inputs, _options.Reader, ct))
            if (record.Failure is null) return record.IsPreference ? ShardKind.Preference : ShardKind.Sft;
        return ShardKind.Sft;
    }

    void CheckOrSaveSettings(BlockJournal journal, ShardSettings settings)
    {
        if (File.Exists(journal.SettingsPath))
        {
            var previous = Json.ReadFile<ShardSettings>(journal.SettingsPath);
            if (previous.ComputeFingerprint() != settings.ComputeFingerprint())
                throw new LlavaModException(
                    $"{journal.SettingsPath}: this folder holds a run with other settings ({string.Join(", ", settings.Differences(previous))} differ); use an empty folder, or the same settings to resume or add workers");
            return;
        }
        Json.WriteFileAtomic(journal.SettingsPath, settings);
    }

    /// <summary>Only the unbroken run of this worker's finished blocks from its first block on counts as done, so de-duplication sees exactly the earlier rows.</summary>
    Dictionary<long, BlockRecord> FinishedPrefix(Dictionary<long, BlockRecord> intact)
    {
        var prefix = new Dictionary<long, BlockRecord>();
        for (long b = _options.Worker; intact.TryGetValue(b, out var r); b += _options.Workers) prefix[b] = r;
        foreach (var b in intact.Keys.Where(b => _options.OwnsBlock(b) && !prefix.ContainsKey(b)))
            Warn?.Invoke($"block {b} is finished but an earlier block is not; it is produced again");
        return prefix;
    }

    /// <summary>The keys of the finished blocks' rows: from the journal's key files, else from the shards themselves.</summary>
    static async Task<HashSet<UInt128>> LoadDedupKeysAsync(string dir, BlockJournal journal, IEnumerable<BlockRecord> blocks, ShardKind kind, CancellationToken ct)
    {
        var seen = new HashSet<UInt128>();
        foreach (var b in blocks)
        {
            if (journal.TryReadKeys(b.Block, b.Shards.Sum(s => s.Rows)) is { } keys)
            {
                seen.UnionWith(keys);
                continue;
            }
            foreach (var shard in b.Shards)
            {
                string path = Path.Combine(dir, shard.File);
                if (kind == ShardKind.Sft)
                    await foreach (var row in ShardReader.ReadRows(path, ct)) seen.Add(RowProcessor.DedupKeyOf(row));
                else
                    await foreach (var row in ShardReader.ReadPreferenceRows(path, ct)) seen.Add(RowProcessor.DedupKeyOf(row));
            }
        }
        return seen;
    }
}
