using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using Parquet;
using Parquet.Serialization;
using TorchSharp;

namespace LlavaMod.Teacher.Sampling;

/// <summary>Settings of <c>llavamod teacher sample</c>.</summary>
public sealed record SamplingOptions
{
    public required string Model { get; init; }
    public required string Data { get; init; }
    public required string Out { get; init; }
    public int SamplesPerPrompt { get; init; } = 10;
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 1.0;
    public int TopK { get; init; }
    public int MaxNewTokens { get; init; } = 64;
    public long Seed { get; init; }
    /// <summary>Prompts per generation call (each with all its samples); results do not depend on it.</summary>
    public int PromptsPerBatch { get; init; } = 32;
    /// <summary>Only rows whose id ends with this (e.g. "-describe"); null = every row.</summary>
    public string? OnlyIdsEndingWith { get; init; }
    /// <summary>Device, torch threads and compute precision (bf16: mixed precision, see <see cref="LlavaMod.Models.Autocast"/>).</summary>
    public RuntimeOptions Runtime { get; init; } = RuntimeOptions.Default;
    /// <summary>This process's share of a split job: it samples the data shards whose index mod n is its own.</summary>
    public WorkerShare Share { get; init; } = WorkerShare.Single;
}

/// <summary>
/// Samples N responses per prompt (the prompt = a data row's ids up to its first supervised token,
/// with its image) from any model the stack loads: the teacher for preference mining, or a student
/// for on-policy pairs. Each prompt's samples use seeds derived from (seed, row key, sample index),
/// so results do not depend on batch size or order. One Parquet file per data shard, written
/// atomically; samples.json lists finished shards, so a rerun continues where it stopped.
/// </summary>
public static class SamplingPass
{
    public static SampleManifest Run(SamplingOptions o, Action<string>? log = null, CancellationToken ct = default)
    {
        log ??= _ => { };
        var data = DatasetManifest.Load(o.Data);
        ShardsBeforeUse.Require(o.Data, data, o.Model);
        var device = o.Runtime.Apply();
        var precision = o.Runtime.Precision;
        using var model = Checkpoint.Load(o.Model, torch.ScalarType.Float32, device);
        model.eval();
        using var autocast = Autocast.Enter(precision); // one scope for the whole pass: each weight is cast once
        var tokenizer = QwenTokenizer.Load(o.Model);
        var fresh = new SampleManifest
        {
            ModelFolder = Path.GetFullPath(o.Model), ModelFingerprint = ModelFingerprint.OfWeights(o.Model), DataFolder = Path.GetFullPath(o.Data),
            SamplesPerPrompt = o.SamplesPerPrompt, Temperature = o.Temperature, TopP = o.TopP, TopK = o.TopK, MaxNewTokens = o.MaxNewTokens,
            Seed = o.Seed, OnlyIdsEndingWith = o.OnlyIdsEndingWith, Precision = precision.Name(), DataChecksum = data.Checksum ?? data.ComputeChecksum(),
            Worker = o.Share.IsSplit ? WorkerPart.Of(o.Share, data.Shards.Select(s => s.File).ToList()) : null,
        };
        using var outputLock = OutputLock.ForFolder(o.Out);
        AtomicFile.CleanStaleTempFiles(o.Out);
        var manifest = fresh;
        if (File.Exists(Path.Combine(o.Out, SampleManifest.FileName)))
        {
            manifest = SampleManifest.Load(o.Out);
            // A folder written before data checksums were recorded is compared on the rest.
            if (manifest.SettingsKey != (fresh with { DataChecksum = manifest.DataChecksum is null ? null : fresh.DataChecksum }).SettingsKey)
                throw LlavaModException.ForFile(o.Out, "holds samples made with other settings, another model or other data; choose an empty --out folder");
            if (manifest.Worker != fresh.Worker)
                throw LlavaModException.ForFile(o.Out, $"holds the samples of {Describe(manifest.Worker)}, this run is {Describe(fresh.Worker)}; give each worker its own --out folder");
        }

        foreach (var shard in o.Share.Take(data.Shards))
        {
            ct.ThrowIfCancellationRequested();
            if (manifest.Shards.Any(s => s.DataShard == shard.File && File.Exists(Path.Combine(o.Out, s.File)))) continue;
            var rows = ShardReader.ReadRows(Path.Combine(o.Data, shard.File), ct).ToBlockingEnumerable(ct)
                .Where(r => o.OnlyIdsEndingWith is null || (r.Id?.EndsWith(o.OnlyIdsEndingWith, StringComparison.Ordinal) ?? false))
                .Select(SupervisedExample.FromShardRow).ToList();
            var samples = new List<SampleRow>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int done = 0;
            foreach (var batch in rows.Chunk(o.PromptsPerBatch))
            {
                ct.ThrowIfCancellationRequested();
                using (torch.NewDisposeScope()) samples.AddRange(Sample(model, tokenizer, batch, o, device));
                done += batch.Length;
                double rate = done / clock.Elapsed.TotalSeconds;
                if (done < rows.Count) log($"{shard.File}: {done}/{rows.Count} prompts, {rate:F1} prompts/s, eta {TimeSpan.FromSeconds((rows.Count - done) / rate):mm\\:ss}");
            }
            string file = Path.GetFileNameWithoutExtension(shard.File) + ".samples.parquet";
            string path = Path.Combine(o.Out, file);
            AtomicFile.WriteAsync(path, stream => ParquetSerializer.SerializeAsync(samples, stream, new ParquetOptions { CompressionMethod = CompressionMethod.Zstd }, cancellationToken: ct), ct).GetAwaiter().GetResult();
            manifest.Shards.Add(new SampleShard(file, shard.File, rows.Count, samples.Count, Hashing.Sha256OfFile(path)));
            manifest.Save(o.Out);
            FaultPoint.Pass("shard");
            log($"{shard.File}: {samples.Count} samples for {rows.Count} prompts");
        }
        return manifest;
    }

    static string Describe(WorkerPart? part) => part is null ? "one process" : $"worker {part.Worker} of {part.Workers}";

    /// <summary>The N samples of each row of a batch; each row's seeds derive from (seed, row key) alone, so batching changes nothing.</summary>
    static IEnumerable<SampleRow> Sample(LlavaModel model, QwenTokenizer tokenizer, IReadOnlyList<SupervisedExample> rows, SamplingOptions o, TorchSharp.torch.Device device)
    {
        var stops = StopTokens.Of(tokenizer);
        var seeds = rows.Select(row => BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{o.Seed}|{row.Key}")))).ToList();
        var generated = TextGenerator.Generate(model, LlavaBatch.FromExamples(rows.Select(r => r.PromptOnly()).ToList(), model.Config.Vision, device), new GenerationOptions
        {
            MaxNewTokens = o.MaxNewTokens, Temperature = o.Temperature, TopP = o.TopP, TopK = o.TopK,
            SamplesPerPrompt = o.SamplesPerPrompt, PromptSeeds = seeds, StopTokenIds = stops,
        }, ids => tokenizer.Decode(ids.Select(i => (int)i)));
        foreach (var g in generated)
        {
            var row = rows[g.PromptIndex];
            yield return new SampleRow
            {
                Key = row.Key, Id = row.Id, SampleIndex = g.SampleIndex, Seed = (long)g.Seed, Text = (g.Text ?? "").Trim(),
                TokenIds = g.TokenIds.Select(i => (int)i).ToArray(), TokenLogProbs = g.TokenLogProbs, FinishReason = g.FinishReason,
            };
        }
    }

    /// <summary>Reads a samples file back.</summary>
    public static IReadOnlyList<SampleRow> ReadSamples(string path)
    {
        using var stream = File.OpenRead(path);
        return ParquetSerializer.DeserializeAsync<SampleRow>(stream).GetAwaiter().GetResult().Data.ToList();
    }
}
