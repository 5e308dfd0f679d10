using System.CommandLine;
using LlavaMod.Core;
using LlavaMod.Data.Etl;
using LlavaMod.Data.Shards;
using LlavaMod.Data.Sources;
using LlavaMod.Cli.Etl;

namespace LlavaMod.Cli.Commands;

/// <summary>`llavamod shard`: image–text inputs → Parquet shards + dataset.json.</summary>
public static class ShardCommand
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input", "-i") { Description = "Input file or glob (repeatable): LLaVA JSON/JSONL, caption CSV/TSV, WebDataset .tar, Parquet", AllowMultipleArgumentsPerToken = true };
        var source = new Option<string?>("--source") { Description = "Source manifest (JSON) naming inputs, image roots, expected counts and checksums" };
        var imageRoot = new Option<string[]>("--image-root") { Description = "Folder relative image paths resolve against (repeatable; first match wins)" };
        var format = new Option<string?>("--format") { Description = "Force the input format: llava-json, llava-jsonl, caption-csv, caption-tsv, webdataset, parquet" };
        var output = new Option<string>("--out", "-o") { Description = "Output folder", Required = true };
        var kind = new Option<string>("--kind") { Description = "Row kind: auto, sft, preference", DefaultValueFactory = _ => "auto" };
        kind.AcceptOnlyFromAmong("auto", "sft", "preference");
        var captionPrompt = new Option<string?>("--caption-prompt") { Description = $"User turn for caption rows (default \"{SourceReaderOptions.DefaultCaptionPrompt}\")" };
        var shardRows = new Option<int>("--shard-rows") { Description = "Source rows per shard (a shard holds the accepted rows of its block)", DefaultValueFactory = _ => 10_000 };
        var shardMb = new Option<double?>("--shard-mb") { Description = "Also start a new file when a shard reaches this many megabytes (checked per row group; files k_01, k_02, … of the same block)" };
        var groupRows = new Option<int>("--row-group-rows") { Description = "Most rows per Parquet row group", DefaultValueFactory = _ => 1000 };
        var groupMb = new Option<double>("--row-group-mb") { Description = "A row group also closes at about this many megabytes of rows (images, ids, text); 0 = by rows only", DefaultValueFactory = _ => ShardFormat.DefaultRowGroupBytes / 1e6 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (output is identical for any value)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var resume = new Option<bool>("--resume") { Description = "Keep the finished shards of an interrupted run and produce the rest" };
        var keepDuplicates = new Option<bool>("--keep-duplicates") { Description = "Keep exact duplicates (same image bytes and conversation)" };

        var allowPartial = new Option<bool>("--allow-partial-source") { Description = "Keep the rows before the break of a JSON input that cannot be read to its end (default: stop before any work, naming file, line and byte)" };
        var maxRejects = MaxRejectShareOption();

        var command = new Command("shard", "Read image-text inputs, check, resize, tokenize and write Parquet shards with a manifest.");
        foreach (var o in new Option[] { input, source, imageRoot, format, output, kind, captionPrompt, shardRows, shardMb, groupRows, groupMb, threads, resume, keepDuplicates, allowPartial, maxRejects })
            command.Options.Add(o);
        var split = new WorkerOptionSet(command, "source blocks (--shard-rows rows each)");
        var stageOptions = StageOptions.AddTo(command);

        command.SetAction(async (parse, ct) =>
        {
            SourceFormat? forced = parse.GetValue(format) is { } f ? SourceFormats.Parse(f) : null;
            var roots = (parse.GetValue(imageRoot) ?? []).Select(Path.GetFullPath).ToList();
            IReadOnlyList<SourceInput> inputs;
            Dictionary<string, long>? expectedRows = null;
            Dictionary<string, string>? expectedSha = null;
            string? prompt = parse.GetValue(captionPrompt);
            if (parse.GetValue(source) is { } manifestPath)
            {
                if ((parse.GetValue(input) ?? []).Length > 0)
                    throw new LlavaModException("pass either --source MANIFEST or --input FILE, not both");
                var manifest = SourceManifest.Load(manifestPath);
                var resolved = manifest.Resolve(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, forced);
                inputs = resolved.Select(r => roots.Count > 0 ? r.Input with { ImageRoots = roots } : r.Input).ToList();
                expectedRows = resolved.Where(r => r.Declared.ExpectedRows is not null).ToDictionary(r => Path.GetFileName(r.Input.Path), r => r.Declared.ExpectedRows!.Value);
                expectedSha = resolved.Where(r => r.Declared.Sha256 is not null).ToDictionary(r => Path.GetFileName(r.Input.Path), r => r.Declared.Sha256!);
                prompt ??= manifest.CaptionPrompt;
            }
            else inputs = SourceInput.Resolve(parse.GetValue(input) ?? [], forced, roots);

            var share = split.Parse(parse);
            var options = new ShardJobOptions
            {
                Inputs = inputs,
                OutputDir = parse.GetValue(output)!,
                Reader = new SourceReaderOptions { CaptionPrompt = prompt ?? SourceReaderOptions.DefaultCaptionPrompt },
                BlockRows = parse.GetValue(shardRows),
                Format = new ShardFormat
                {
                    RowGroupRows = parse.GetValue(groupRows),
                    RowGroupBytes = parse.GetValue(groupMb) is var gmb && gmb > 0 ? (long)(gmb * 1e6) : gmb == 0 ? null : throw new LlavaModException("--row-group-mb must be 0 or positive"),
                    MaxShardBytes = parse.GetValue(shardMb) is double mb ? (mb > 0 ? (long)(mb * 1e6) : throw new LlavaModException("--shard-mb must be positive")) : null,
                },
                Kind = parse.GetValue(kind) switch { "sft" => ShardKind.Sft, "preference" => ShardKind.Preference, _ => null },
                Threads = parse.GetValue(threads),
                Resume = parse.GetValue(resume),
                KeepDuplicates = parse.GetValue(keepDuplicates),
                Worker = share.Index,
                Workers = share.Count,
                ExpectedRows = expectedRows,
                ExpectedSha256 = expectedSha,
                AllowPartialSource = parse.GetValue(allowPartial),
                MaxRejectShare = parse.GetValue(maxRejects),
            };
            var (encoder, images) = stageOptions.Build(parse);
            var manifestOut = await ShardProgressView.RunAsync(options, encoder, images, ct);
            ShardSummary.Print(manifestOut, options);
            return 0;
        });
        return command;
    }

    /// <summary>--max-reject-share, shared by shard and merge.</summary>
    public static Option<double> MaxRejectShareOption() => new("--max-reject-share")
    {
        Description = "Fail when more than this share of the source rows is rejected (0-1); a run that accepts no row always fails",
        DefaultValueFactory = _ => RejectShareCheck.DefaultMaxShare,
    };
}
