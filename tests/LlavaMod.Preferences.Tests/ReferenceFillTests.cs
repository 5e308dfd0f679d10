using LlavaMod.Core;
using LlavaMod.Preferences;

namespace LlavaMod.Preferences.Tests;

/// <summary>What 'pairs reference' relies on: finding pairs that lack reference log-probs or token ids,
/// filling them without ever replacing stored values, and the recorded tokenizer of a run.</summary>
public class ReferenceFillTests
{
    static (long Run, long Prompt, long Chosen, long Rejected, long Pair) ImportedPair(PairStore store, string run = "import:x")
    {
        long runId = store.CreateRun(new RunInfo(run, "unknown", "", "unknown", "", "imported", "parquet"));
        long prompt = store.UpsertPrompt(runId, new PromptRecord(PromptKeys.For("What is it?", "img.png"), "What is it?", ImagePath: "img.png"));
        long chosen = store.UpsertResponse(prompt, new ResponseRecord("A cat."));
        long rejected = store.UpsertResponse(prompt, new ResponseRecord("A dog."));
        store.AddPairs([new PairRecord(chosen, rejected, Source: PairSource.Imported)]);
        return (runId, prompt, chosen, rejected, store.ListPairs(new PairQuery()).Single().Id);
    }

    [Fact]
    public void Fills_token_ids_and_reference_once_and_never_replaces_them()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.sqlite"));
        var ids = ImportedPair(store);
        Assert.Equal(1, store.CountPairsNeedingReference());
        var need = store.PairsNeedingReference(0, 10).Single();
        Assert.Equal((ids.Pair, ids.Prompt, ids.Chosen, ids.Rejected), (need.PairId, need.PromptId, need.ChosenId, need.RejectedId));
        Assert.Null(need.PromptTokenIds);
        Assert.False(need.HasReference);
        Assert.Equal("img.png", need.ImagePath);
        Assert.Empty(store.PairsNeedingReference(need.PairId, 10));

        store.FillPromptTokens(ids.Prompt, [-200, 5, 6]);
        store.FillResponseTokens(ids.Chosen, [7, 8]);
        store.FillResponseTokens(ids.Rejected, [9, 10, 11]);
        Assert.Equal(1, store.FillReference(new ReferenceFill(ids.Pair, -3.5, 2, -7.25, 3)));
        Assert.Equal(0, store.CountPairsNeedingReference());

        // A second fill changes nothing.
        store.FillPromptTokens(ids.Prompt, [1]);
        store.FillResponseTokens(ids.Chosen, [1]);
        Assert.Equal(0, store.FillReference(new ReferenceFill(ids.Pair, -1, 1, -1, 1)));

        var pair = store.EnumerateTrainingPairs(PairSplit.Train).Single();
        Assert.Equal([-200, 5, 6], pair.PromptTokenIds!);
        Assert.Equal([7, 8], pair.ChosenTokenIds!);
        Assert.Equal([9, 10, 11], pair.RejectedTokenIds!);
        Assert.Equal((-3.5, -7.25), (pair.RefChosenLogp, pair.RefRejectedLogp));
        var detail = store.GetPair(ids.Pair)!;
        Assert.Equal((2L, 3L), (detail.RefChosenTokens, detail.RefRejectedTokens));
        Assert.Equal(3, store.ListPairs(new PairQuery()).Single().Length);
    }

    [Fact]
    public void A_run_keeps_the_tokenizer_first_recorded()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.sqlite"));
        var ids = ImportedPair(store);
        Assert.Null(store.RunTokenizer(ids.Run));
        Assert.Equal([(ids.Run, "import:x", (string?)null)], store.RunsNeedingReference());
        store.RecordRunTokenizer(ids.Run, "abc");
        store.RecordRunTokenizer(ids.Run, "abc");
        Assert.Equal("abc", store.RunTokenizer(ids.Run));
        Assert.Throws<LlavaModException>(() => store.RecordRunTokenizer(ids.Run, "def"));
        Assert.Equal("abc", store.RunsNeedingReference().Single().Tokenizer);
    }
}
