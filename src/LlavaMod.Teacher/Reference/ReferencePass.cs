using LlavaMod.Data.Images;
using LlavaMod.Core;
using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Models.Generation;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using LlavaMod.Preferences;
using TorchSharp;

namespace LlavaMod.Teacher.Reference;

/// <summary>Settings of <c>llavamod pairs reference</c>.</summary>
public sealed record ReferenceOptions
{
    public required string Db { get; init; }
    public required string Teacher { get; init; }
    /// <summary>Folder relative image paths are under.</summary>
    public string? ImageRoot { get; init; }
    /// <summary>Data shards to take images from when the pair's image is not a file (matched by row key, image sha256 or path).</summary>
    public string? Shards { get; init; }
    /// <summary>Chat template that untokenized prompts and responses are rendered with.</summary>
    public ChatTemplateKind Template { get; init; } = ChatTemplateKind.Qwen;
    public int PairsPerBatch { get; init; } = 16;
    /// <summary>Device and torch threads (the teacher scores in fp32).</summary>
    public RuntimeOptions Runtime { get; init; } = RuntimeOptions.Default;
    /// <summary>This process's share of a split job: it fills the batches of <see cref="PairsPerBatch"/> pairs whose index mod n is its own.</summary>
    public WorkerShare Share { get; init; } = WorkerShare.Single;
    /// <summary>A worker's own pair index: a copy of <see cref="Db"/> (made on its first start) in which it fills its batches; null for one process, which fills <see cref="Db"/> in place.</summary>
    public string? Out { get; init; }
}

/// <summary>Pairs that needed work, reference log-probs newly stored, pairs whose token ids were newly made.</summary>
public sealed record ReferenceSummary(long Pairs, int ReferencesFilled, int PairsTokenized);

/// <summary>
/// Fills what the pd stage needs in pairs that lack it (imported from TRL / LLaVA-MoD / RLAIF-V
/// files): token ids, made with the teacher's tokenizer and chat template exactly as the ETL makes
/// shard rows (the prompt is the user turn, with "&lt;image&gt;\n" first when the pair has an image
/// and the text has no tag; each response is one assistant turn with its closing token), and the
/// teacher's summed log-probs and token counts of both responses (<see cref="SequenceScorer"/>,
/// teacher-forced, batched). Stored values are never replaced. One transaction per batch of pairs,
/// so a rerun continues with the pairs still missing. Refuses a run whose token ids were recorded
/// as made with another tokenizer; records the teacher's tokenizer on runs it tokenized. Every
/// pair's image is located before the teacher loads (<see cref="PairImages"/>; shard images are
/// copied to an unnamed scratch file beside the pair index) and read a page at a time.
/// </summary>
public static class ReferencePass
{
    public static ReferenceSummary Run(ReferenceOptions o, Action<long, long>? progress = null, CancellationToken ct = default)
    {
        if (o.Share.IsSplit != (o.Out is not null))
            throw new LlavaModException(o.Out is null
                ? "--worker/--workers need --out FILE: each worker fills its own copy of the pair index, joined with 'llavamod merge'"
                : "--out is for a worker of a split job (--worker i --workers n); one process fills --db in place");
        using var outputLock = o.Out is null ? null : OutputLock.ForFile(o.Out);
        var batches = Batches(o);
        string db = o.Out ?? o.Db;
        if (o.Out is not null && !File.Exists(o.Out)) CopyInto(o.Db, o.Out);

        using var store = PairStore.Open(db);
        var owned = o.Share.Take(batches);
        if (o.Share.IsSplit)
        {
            var part = new WorkerPart(o.Share.Index, o.Share.Count, owned.Select(UnitName).ToList());
            store.BeginWorker(new PairWorkerInfo(PairIndexMerger.ReferenceVerb, part, Json.Serialize(new
            {
                source = Path.GetFullPath(o.Db), pairs_needing_reference = Hashing.Sha256Hex(string.Join(",", batches.SelectMany(b => b))),
                teacher = ModelFingerprint.OfWeights(o.Teacher), o.Template, batch_size = o.PairsPerBatch,
                image_root = o.ImageRoot is null ? null : Path.GetFullPath(o.ImageRoot), shards = o.Shards is null ? null : Path.GetFullPath(o.Shards),
            })));
            var finished = store.FinishedWorkerUnits().Select(u => u.Unit).ToHashSet();
            owned = owned.Where(b => !finished.Contains(UnitName(b))).ToList();
        }
        long total = owned.Sum(b => (long)b.Length);
        progress?.Invoke(0, total);
        if (total == 0) return new ReferenceSummary(0, 0, 0);

        var tokenizer = QwenTokenizer.Load(o.Teacher);
        foreach (var run in store.RunsNeedingReference()) CheckTokenizer(run.Name, run.Tokenizer, tokenizer.Fingerprint, o.Db);
        var template = ChatTemplate.Create(o.Template, tokenizer);
        // Every pair's image is found before the teacher loads: a missing one stops the run here, naming the pair.
        using var images = new PairImages(o.ImageRoot, o.Shards, Path.GetDirectoryName(Path.GetFullPath(o.Db)));
        var located = LocateImages(store, images, db, owned.SelectMany(b => b).ToHashSet());
        var device = o.Runtime.Apply();
        using var teacher = Checkpoint.Load(o.Teacher, torch.ScalarType.Float32, device);
        teacher.eval();

        long done = 0;
        int filled = 0, tokenized = 0;
        foreach (var batch in owned)
        {
            ct.ThrowIfCancellationRequested();
            // The batch as it was when the job started: pairs filled since (by a killed run) drop out, the others are scored together.
            var page = store.PairsNeedingReference(batch[0] - 1, batch.Length, throughId: batch[^1]);
            var prepared = page.Select(p => Prepare(p, template, located[p.PairId], o.Db)).ToList();
            var needReference = prepared.Where(p => !p.Pair.HasReference).ToList();
            IReadOnlyList<SequenceLogProb> logps = needReference.Count == 0 ? []
                : Score(teacher, needReference, images.Read(needReference.Select(p => p.Image).ToList()), device);
            store.InTransaction(s =>
            {
                foreach (var p in prepared.Where(p => p.Tokenized))
                {
                    s.FillPromptTokens(p.Pair.PromptId, p.Prompt);
                    s.FillResponseTokens(p.Pair.ChosenId, p.Chosen);
                    s.FillResponseTokens(p.Pair.RejectedId, p.Rejected);
                    if (s.RunTokenizer(p.Pair.RunId) is null) s.RecordRunTokenizer(p.Pair.RunId, tokenizer.Fingerprint);
                }
                for (int i = 0; i < needReference.Count; i++)
                    filled += s.FillReference(new ReferenceFill(needReference[i].Pair.PairId, logps[2 * i].Sum, logps[2 * i].Count, logps[2 * i + 1].Sum, logps[2 * i + 1].Count));
                if (o.Share.IsSplit) s.RecordWorkerUnit(UnitName(batch));
            });
            FaultPoint.Pass("batch");
            tokenized += prepared.Count(p => p.Tokenized);
            done += batch.Length;
            progress?.Invoke(done, total);
        }
        return new ReferenceSummary(done, filled, tokenized);
    }

    /// <summary>The pairs that lack reference log-probs or token ids in --db, in id order, in batches of
    /// --batch-size: the units of work (a worker's are the batches whose index mod n is its own).</summary>
    static IReadOnlyList<long[]> Batches(ReferenceOptions o)
    {
        using var source = PairStore.Open(o.Db, readOnly: o.Out is not null);
        return source.ImagesOfPairsNeedingReference().Select(p => p.PairId).Chunk(Math.Max(1, o.PairsPerBatch)).ToList();
    }

    static string UnitName(long[] batch) => $"pairs {batch[0]}-{batch[^1]}";

    /// <summary>A worker's first start: a consistent copy of the shared pair index becomes its own file.</summary>
    static void CopyInto(string source, string target)
    {
        string temp = Path.GetFullPath(target) + AtomicFile.TempMarker + "copy";
        File.Delete(temp);
        PairStore.Copy(source, temp);
        File.Move(temp, target, overwrite: true);
    }

    sealed record Prepared(PairNeedingReference Pair, int[] Prompt, int[] Chosen, int[] Rejected, PairImage? Image, bool Tokenized);

    /// <summary>Where each pair's image is (null: it has none), reading only the shard rows the pairs name.</summary>
    static Dictionary<long, PairImage?> LocateImages(PairStore store, PairImages images, string db, IReadOnlySet<long> wanted)
    {
        var pairs = store.ImagesOfPairsNeedingReference().Where(p => wanted.Contains(p.PairId)).ToList();
        var located = images.LocateAll(pairs, db);
        return pairs.Select((p, i) => (p.PairId, located[i])).ToDictionary(x => x.PairId, x => x.Item2);
    }

    static void CheckTokenizer(string run, string? recorded, string fingerprint, string db)
    {
        if (recorded is not null && recorded != fingerprint)
            throw LlavaModException.ForFile(db, $"run '{run}' was tokenized with tokenizer {recorded[..Math.Min(12, recorded.Length)]}…, " +
                $"the teacher's is {fingerprint[..Math.Min(12, fingerprint.Length)]}…; its token ids would not match the teacher: use the teacher whose tokenizer made the pairs");
    }

    static Prepared Prepare(PairNeedingReference pair, ChatTemplate template, PairImage? image, string db)
    {
        bool tokenize = pair.PromptTokenIds is null || pair.ChosenTokenIds is null || pair.RejectedTokenIds is null;
        int[] prompt = pair.PromptTokenIds ?? TokenizePrompt(template, UserMessage(pair.PromptText, image is not null));
        int[] chosen = pair.ChosenTokenIds ?? TokenizeResponse(template, UserMessage(pair.PromptText, image is not null), pair.ChosenText, db, pair.PairId);
        int[] rejected = pair.RejectedTokenIds ?? TokenizeResponse(template, UserMessage(pair.PromptText, image is not null), pair.RejectedText, db, pair.PairId);
        if (prompt.Contains(ChatTemplate.ImagePlaceholderId) && image is null)
            throw LlavaModException.ForRow(db, pair.PairId, "the prompt has an image placeholder but the pair names no image");
        return new Prepared(pair, prompt, chosen, rejected, image, tokenize);
    }

    /// <summary>The user turn: the prompt text, with the image tag first when the pair has an image the text does not mark.
    /// A prompt stored already rendered in a chat template (indexes and exports of older versions) is cut back to its
    /// question first, so it is never templated twice.</summary>
    public static string UserMessage(string promptText, bool hasImage)
    {
        string text = UserQuestion.IsRendered(promptText) ? UserQuestion.Of(promptText) : promptText;
        return hasImage && !text.Contains(ChatTemplate.ImageTag, StringComparison.Ordinal) ? ChatTemplate.ImageTag + "\n" + text : text;
    }

    static int[] TokenizePrompt(ChatTemplate template, string user) => template.TokenizePrompt([new ChatTurn(ChatTurn.User, user)]);

    /// <summary>The supervised ids of the one-turn conversation (user, response): the response and its closing token.</summary>
    static int[] TokenizeResponse(ChatTemplate template, string user, string response, string db, long pairId)
    {
        try
        {
            var conversation = template.Tokenize([new ChatTurn(ChatTurn.User, user), new ChatTurn(ChatTurn.Assistant, response)]);
            return conversation.InputIds.Where((_, i) => conversation.LabelMask[i] == 1).ToArray();
        }
        catch (RowRejectedException e)
        {
            throw LlavaModException.ForRow(db, pairId, e.Message);
        }
    }

    /// <summary>Teacher log-probs of chosen and rejected of each pair: [2i] chosen, [2i+1] rejected.</summary>
    static IReadOnlyList<SequenceLogProb> Score(LlavaModel teacher, IReadOnlyList<Prepared> pairs, IReadOnlyList<byte[]?> images, torch.Device device)
    {
        using var scope = torch.NewDisposeScope();
        var prompts = pairs.SelectMany((p, j) => new[] { (p, j), (p, j) }).Select((x, i) =>
        {
            var ids = x.p.Prompt.Select(id => (long)id).ToArray();
            return new SupervisedExample($"pair-{x.p.Pair.PairId}-{i % 2}", ids, Enumerable.Repeat(LlavaBatch.IgnoreIndex, ids.Length).ToArray(), images[x.j]);
        }).ToList();
        var responses = pairs.SelectMany(p => new[] { p.Chosen, p.Rejected }).Select(r => r.Select(id => (long)id).ToArray()).ToList();
        return SequenceScorer.LogProbs(teacher, LlavaBatch.FromExamples(prompts, teacher.Config.Vision, device), responses);
    }
}
