using LlavaMod.Core;

namespace LlavaMod.Preferences.Interop;

/// <summary>What <c>pairs export</c> writes: which pairs (filters; sort and paging ignored), and whether
/// image files are embedded as bytes (read from <see cref="ImageRoot"/> for relative paths).</summary>
public sealed record ExportOptions(ExportFormat Format, PairQuery? Filter = null, string? ImageRoot = null, bool EmbedImages = false);

/// <summary>How <c>pairs import</c> files pairs: the run they go to (default "import:FILENAME"), the
/// share of prompts sent to val, where embedded image bytes are written (as SHA256.ext), and an
/// optional tokenizer (e.g. the Qwen tokenizer's Encode) that fills token ids and lengths; without one
/// imported prompts and responses have no token ids.</summary>
public sealed record ImportOptions(string? RunName = null, double ValFraction = 0, string? ImageDir = null, Func<string, int[]>? Tokenize = null);

/// <summary>Rows read, pairs new to the index, and rows skipped because chosen equals rejected.</summary>
public sealed record ImportResult(string Run, long Rows, int PairsInserted, long SkippedIdentical);

/// <summary>Moves pairs between the index and TRL Parquet / LLaVA-MoD JSON / RLAIF-V Parquet files.</summary>
public static class PairExchange
{
    const int Batch = 1000;

    /// <summary>Exports the pairs matching the filter in id order; returns how many.</summary>
    public static async Task<long> ExportAsync(PairStore store, string path, ExportOptions options, CancellationToken ct = default)
    {
        long count = 0;
        IEnumerable<ExchangePair> Pairs()
        {
            var query = (options.Filter ?? new PairQuery()) with { Sort = PairSort.Id, Descending = false, Offset = 0, After = null, Limit = Batch };
            while (true)
            {
                var page = store.ListPairs(query);
                foreach (var row in page)
                {
                    ct.ThrowIfCancellationRequested();
                    count++;
                    byte[]? bytes = options.EmbedImages && row.ImagePath is not null ? ReadImage(row, options.ImageRoot) : null;
                    yield return new ExchangePair(row.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), row.PromptText, row.ChosenText,
                        row.RejectedText, row.ImagePath, bytes, row.RefChosenLogp, row.RefRejectedLogp, row.Severity, null);
                }
                if (page.Count < Batch) yield break;
                query = query with { After = page[^1].Id };
            }
        }
        if (options.Format == ExportFormat.Trl) await PreferenceParquet.WriteTrlAsync(path, Pairs(), ct);
        else LlavaModPreferenceJson.Write(path, Pairs());
        return count;
    }

    static byte[] ReadImage(PairRow row, string? root)
    {
        return ImageRoot.FindFile(root, row.ImagePath!, $"pair {row.Id}") is { } file ? File.ReadAllBytes(file)
            : throw LlavaModException.ForFile(row.ImagePath!, $"image of pair {row.Id} not found{(root is null ? " (set the image root)" : $" under {root}")}");
    }

    /// <summary>Imports a TRL or RLAIF-V Parquet file (".parquet") or LLaVA-MoD preference JSON (".json",
    /// ".jsonl") as source=imported pairs, one transaction per 1000 rows. Importing again adds nothing.</summary>
    public static async Task<ImportResult> ImportAsync(PairStore store, string path, ImportOptions options, CancellationToken ct = default)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        string format = ext switch
        {
            ".parquet" => "parquet",
            ".json" or ".jsonl" => "llava-mod-json",
            _ => throw LlavaModException.ForFile(path, "unknown preference file type (expected .parquet, .json or .jsonl)"),
        };
        string runName = options.RunName ?? $"import:{Path.GetFileName(path)}";
        long runId = store.CreateRun(new RunInfo(runName, "unknown", "", "unknown", "", "imported", format,
            System.Text.Json.JsonSerializer.Serialize(new { source_file = Path.GetFileName(path) }, Json.Compact)));
        var pending = new List<(long Row, ExchangePair Pair)>(Batch);
        long rows = 0, skipped = 0;
        int inserted = 0;
        void Flush()
        {
            inserted += store.InTransaction(s => pending.Sum(p => AddOne(s, runId, p.Pair, options, path, p.Row)));
            pending.Clear();
        }
        var source = format == "parquet" ? PreferenceParquet.ReadAsync(path, ct) : Async(LlavaModPreferenceJson.Read(path));
        await foreach (var pair in source.WithCancellation(ct))
        {
            rows++;
            if (pair.Chosen == pair.Rejected) { skipped++; continue; }
            pending.Add((rows, pair));
            if (pending.Count == Batch) Flush();
        }
        if (pending.Count > 0) Flush();
        return new ImportResult(runName, rows, inserted, skipped);
    }

    static int AddOne(PairStore store, long runId, ExchangePair pair, ImportOptions options, string file, long row)
    {
        string? imagePath = pair.ImagePath, imageKey = null;
        if (pair.ImageBytes is { } bytes)
        {
            imageKey = Hashing.Sha256Hex(bytes);
            if (options.ImageDir is not null)
            {
                imagePath = Path.Combine(options.ImageDir, imageKey + ImageExtension(bytes));
                if (!File.Exists(imagePath)) AtomicFile.WriteAllBytes(imagePath, bytes);
            }
            else if (imagePath is null)
                throw LlavaModException.ForRow(file, row, "the image is embedded as bytes without a path; give an image folder (--image-dir) to write it to");
        }
        // A rendered prompt (older exports) is cut back to its question: the pd stage and
        // 'pairs reference' render the template themselves.
        string question = UserQuestion.Of(pair.Prompt);
        string promptKey = PromptKeys.For(question, imageKey ?? imagePath);
        var tokenize = options.Tokenize;
        long promptId = store.UpsertPrompt(runId, new PromptRecord(promptKey, question, tokenize?.Invoke(question), imageKey, imagePath, pair.MetaJson));
        long chosen = store.UpsertResponse(promptId, new ResponseRecord(pair.Chosen, tokenize?.Invoke(pair.Chosen)));
        long rejected = store.UpsertResponse(promptId, new ResponseRecord(pair.Rejected, tokenize?.Invoke(pair.Rejected)));
        return store.AddPairs([new PairRecord(chosen, rejected, pair.Severity, pair.RefChosenLogp, null, pair.RefRejectedLogp, null,
            PromptKeys.SplitFor(promptKey, options.ValFraction), PairSource.Imported)]);
    }

    static string ImageExtension(byte[] b) => b switch
    {
        [0xFF, 0xD8, 0xFF, ..] => ".jpg",
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => ".png",
        [(byte)'G', (byte)'I', (byte)'F', ..] => ".gif",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => ".webp",
        _ => ".bin",
    };

    static async IAsyncEnumerable<T> Async<T>(IEnumerable<T> items)
    {
        foreach (var item in items) yield return item;
        await Task.CompletedTask;
    }
}
