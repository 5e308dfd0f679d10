using LlavaMod.Core;

namespace LlavaMod.Preferences.Tests;

public class WriteTests
{
    [Fact]
    public void Rerunning_the_same_batches_inserts_nothing_twice()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.db"));
        var (batch, expected) = TestData.Mined(20, seed: 2);
        long run = store.CreateRun(TestData.Run());
        var first = store.AddMinedBatch(run, batch);
        Assert.Equal(expected.Count, first.PairsInserted);
        var counts = TestData.Counts(store);
        Assert.Equal((20L, 80L, (long)expected.Count), counts);

        Assert.Equal(run, store.CreateRun(TestData.Run()));
        var second = store.AddMinedBatch(store.CreateRun(TestData.Run()), batch);
        Assert.Equal(0, second.PairsInserted);
        Assert.Equal(counts, TestData.Counts(store));
    }

    [Fact]
    public void A_run_name_with_other_settings_is_refused()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.db"));
        store.CreateRun(TestData.Run());
        var e = Assert.Throws<LlavaModException>(() => store.CreateRun(TestData.Run() with { ScorerVersion = "v2" }));
        Assert.Contains("run-a", e.Message);
    }

    [Fact]
    public void Pairs_across_prompts_and_unknown_ids_are_rejected()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.db"));
        long run = store.CreateRun(TestData.Run());
        long p1 = store.UpsertPrompt(run, new PromptRecord("a", "first"));
        long p2 = store.UpsertPrompt(run, new PromptRecord("b", "second"));
        long r1 = store.UpsertResponse(p1, new ResponseRecord("yes", [1], 0));
        long r2 = store.UpsertResponse(p2, new ResponseRecord("no", [2], -1));
        long r3 = store.UpsertResponse(p1, new ResponseRecord("maybe", [3], -2));
        Assert.Equal(r1, store.UpsertResponse(p1, new ResponseRecord("yes", [1], 0)));
        Assert.ThrowsAny<Exception>(() => store.AddPairs([new PairRecord(r1, r2)]));
        Assert.Throws<LlavaModException>(() => store.AddPairs([new PairRecord(r1, 999)]));
        Assert.Equal(1, store.AddPairs([new PairRecord(r1, r3)]));
        Assert.Equal(0, store.AddPairs([new PairRecord(r1, r3)]));
        Assert.Equal(1, TestData.Counts(store).Pairs);
    }

    [Fact]
    public void A_batch_that_fails_midway_leaves_nothing_and_earlier_batches_intact()
    {
        using var dir = new TempDir();
        string db = dir.File("pairs.db");
        var (batch1, expected1) = TestData.Mined(10, seed: 3);
        var (batch2, _) = TestData.Mined(10, seed: 4);
        using (var store = PairStore.Open(db))
        {
            long run = store.CreateRun(TestData.Run());
            store.AddMinedBatch(run, batch1);
            IEnumerable<MinedPrompt> Crashing()
            {
                for (int i = 0; i < 6; i++) yield return batch2[i];
                throw new IOException("simulated crash while scoring");
            }
            Assert.Throws<IOException>(() => store.AddMinedBatch(run, Crashing()));
            Assert.Equal((10L, 40L, (long)expected1.Count), TestData.Counts(store));
            // The store is usable after the failed batch.
            Assert.Equal(expected1.Count, store.AddMinedBatch(run, batch2).PairsInserted);
        }
        using var reopened = PairStore.Open(db, readOnly: true);
        Assert.Equal((20L, 80L, 2L * expected1.Count), TestData.Counts(reopened));
        Assert.True(reopened.Verify().Ok);
    }

    [Fact]
    public void A_reader_sees_the_committed_state_while_a_batch_is_being_written()
    {
        using var dir = new TempDir();
        string db = dir.File("pairs.db");
        var (batch1, expected1) = TestData.Mined(5, seed: 5);
        var (batch2, expected2) = TestData.Mined(5, seed: 6);
        using var writer = PairStore.Open(db);
        long run = writer.CreateRun(TestData.Run());
        writer.AddMinedBatch(run, batch1);
        long seenDuringWrite = -1;
        int rowsListedDuringWrite = -1;
        IEnumerable<MinedPrompt> WithReaderInTheMiddle()
        {
            for (int i = 0; i < batch2.Count; i++)
            {
                if (i == 3)
                {
                    // Another thread with its own connection, while the write transaction is open.
                    var reader = Task.Run(() =>
                    {
                        using var r = PairStore.Open(db, readOnly: true);
                        seenDuringWrite = r.CountPairs(new PairQuery());
                        rowsListedDuringWrite = r.ListPairs(new PairQuery { Limit = 1000 }).Count;
                    });
                    Assert.True(reader.Wait(TimeSpan.FromSeconds(20)), "reader was blocked by the writer");
                }
                yield return batch2[i];
            }
        }
        writer.AddMinedBatch(run, WithReaderInTheMiddle());
        Assert.Equal(expected1.Count, seenDuringWrite);
        Assert.Equal(expected1.Count, rowsListedDuringWrite);
        using var after = PairStore.Open(db, readOnly: true);
        Assert.Equal(expected1.Count + expected2.Count, after.CountPairs(new PairQuery()));
    }

    [Fact]
    public void Training_pairs_carry_token_ids_reference_logps_and_severity()
    {
        using var dir = new TempDir();
        using var store = PairStore.Open(dir.File("pairs.db"));
        var (batch, expected) = TestData.Mined(8, seed: 7);
        store.AddMinedBatch(store.CreateRun(TestData.Run()), batch);
        foreach (var split in new[] { PairSplit.Train, PairSplit.Val })
        {
            var got = store.EnumerateTrainingPairs(split).ToList();
            var want = expected.Where(e => e.Split == split).ToList();
            Assert.Equal(want.Select(e => e.Id), got.Select(g => g.PairId));
            foreach (var (e, g) in want.Zip(got))
            {
                Assert.Equal(e.PromptIds, g.PromptTokenIds);
                Assert.Equal(e.ChosenIds, g.ChosenTokenIds);
                Assert.Equal(e.RejectedIds, g.RejectedTokenIds);
                Assert.Equal(e.RefChosenLogp, g.RefChosenLogp);
                Assert.Equal(e.RefRejectedLogp, g.RefRejectedLogp);
                Assert.Equal(e.Severity, g.Severity);
                Assert.Equal(e.ChosenText, g.ChosenText);
                Assert.Equal(e.ImagePath, g.ImagePath);
            }
        }
    }
}

/// <summary>SQLite reporting a full database (SQLITE_FULL) mid-batch: one clear error naming the file and the rerun,
/// and the batch's transaction rolled back. The disk is filled the way SQLite sees it, by capping the page count.</summary>
public class FullDatabaseTests
{
    [Fact]
    public void A_batch_that_fills_the_database_is_refused_whole_with_the_disk_full_line()
    {
        using var dir = new TempDir();
        string path = dir.File("pairs.db");
        using var store = PairStore.Open(path);
        long run = store.CreateRun(TestData.Run());
        store.AddMinedBatch(run, TestData.Mined(5, seed: 3).Batch);
        var before = TestData.Counts(store);
        long pages = store.Query<long>("PRAGMA page_count");
        store.Query<long>($"PRAGMA max_page_count = {pages + 2}"); // room for a page or two more, not for 200 prompts

        var e = Assert.Throws<LlavaModException>(() => store.AddMinedBatch(run, TestData.Mined(200, seed: 4, firstOrdinal: 5).Batch));
        Assert.Contains(path, e.Message);
        Assert.Contains("no space left on the device", e.Message);
        Assert.Contains("rerun the same command", e.Message);
        Assert.Equal(before, TestData.Counts(store)); // nothing of the batch was kept
    }
}
