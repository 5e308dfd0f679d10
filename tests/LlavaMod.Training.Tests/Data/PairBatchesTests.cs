using LlavaMod.Core;
using LlavaMod.Data.Shards;
using LlavaMod.Models;
using LlavaMod.Preferences;
using LlavaMod.Training.Data;

namespace LlavaMod.Training.Tests.Data;

/// <summary>pd pairs locate their images at load (shard rows or files) and read the bytes when a batch is made.</summary>
public class PairBatchesTests : IDisposable
{
    const int ShardRows = 3000, GroupRows = 500;
    readonly string _dir = Directory.CreateTempSubdirectory("pairbatches").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    string Data => Path.Combine(_dir, "data");
    string ImageRoot => Path.Combine(_dir, "images");
    string Db => Path.Combine(_dir, "pairs.sqlite");
    static string RowKey(int i) => $"00000{i:D5}";

    /// <summary>One shard of <see cref="ShardRows"/> rows with distinct image bytes (about 1 KB each).</summary>
    async Task WriteShardAsync()
    {
        Directory.CreateDirectory(Data);
        var rng = new Random(5);
        await using var writer = new ShardWriter<ShardRow>(Path.Combine(Data, "00000.parquet"), new ShardFormat { RowGroupRows = GroupRows });
        for (int i = 0; i < ShardRows; i++)
        {
            var bytes = new byte[900 + rng.Next(200)];
            rng.NextBytes(bytes);
            await writer.AddAsync(new ShardRow
            {
                Key = RowKey(i), Source = "a.jsonl", SourceRow = i, Conversation = "[]", InputIds = [1], LabelMask = [1], NumTokens = 1,
                Image = new ImageCell { Bytes = bytes, Path = $"raw/{i}.jpg" }, ImageSha256 = Hashing.Sha256Hex(bytes),
            });
        }
        var written = await writer.CompleteAsync();
        new DatasetManifest { Kind = ShardKind.Sft, Shards = [new ShardEntry(written.File, 0, 0, ShardRows, ShardRows, written.Bytes, written.Sha256)] }.Save(Data);
    }

    /// <summary>Pairs whose images are shard rows (by key), a file under the image root, none, and any extra (key, path).</summary>
    void WritePairs(params (string? Key, string? Path)[] extra)
    {
        Directory.CreateDirectory(ImageRoot);
        File.WriteAllBytes(Path.Combine(ImageRoot, "file.jpg"), [9, 8, 7, 6]);
        var images = new List<(string? Key, string? Path)> { (RowKey(7), null), (RowKey(2999), null), (RowKey(1234), "raw/1234.jpg"), (RowKey(501), null),
            (RowKey(2000), null), (RowKey(8), null), (null, "file.jpg"), (null, null) };
        images.AddRange(extra);
        var rng = new Random(11);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(1, 1000)).ToArray();
        using var store = PairStore.Open(Db);
        long run = store.CreateRun(new RunInfo("run", "teacher", "v", "sampler", "t1", "scorer", "v1"));
        store.AddMinedBatch(run, images.Select((image, i) => new MinedPrompt(
            new PromptRecord($"prompt-{i}", $"q{i}", [-200, .. Ids(3 + i % 4)], image.Key, image.Path),
            [new ResponseRecord($"a{i}", Ids(2 + i % 5)), new ResponseRecord($"b{i}", Ids(4 + i % 3))],
            [new PairRecord(0, 1, 1.5, -10 - i, null, -20 - i, null)])).ToList());
    }

    [Fact]
    public async Task Only_the_pairs_rows_are_indexed_and_batches_carry_their_images()
    {
        await WriteShardAsync();
        WritePairs();
        var shardRows = ShardReader.ReadRows(Path.Combine(Data, "00000.parquet")).ToBlockingEnumerable().ToDictionary(r => r.Key);
        Dictionary<long, PreferencePair> stored;
        using (var store = PairStore.Open(Db, readOnly: true)) stored = store.EnumerateTrainingPairs("train").ToDictionary(p => p.PairId);
        byte[]? Expected(PreferencePair p) => p.ImageKey is { } key ? shardRows[key].Image!.Bytes
            : p.ImagePath is { } path ? File.ReadAllBytes(Path.Combine(ImageRoot, path)) : null;

        string spill = Path.Combine(_dir, "spill");
        var loaded = PairBatches.Load(Db, "train", ImageRoot, [Data], spill);
        Assert.Equal(8, loaded.Pairs.Count);
        Assert.Equal(7, loaded.Images.IndexedNames); // 6 keys and one path; nothing else of the 3000 rows
        Assert.All(loaded.Pairs, p => Assert.Equal(stored[p.PairId].ImageKey is not null, p.Image?.ShardRow is not null));
        // The six shard images were copied once to the scratch file, which has no name in the folder.
        Assert.Equal(stored.Values.Where(p => p.ImageKey is not null).Sum(p => (long)shardRows[p.ImageKey!].Image!.Bytes!.Length), loaded.Images.SpilledBytes);
        Assert.Empty(Directory.GetFileSystemEntries(spill));

        using var batches = new PairBatches(loaded, seed: 3, pairsPerBatch: 3, lengthGroupBatches: 2);
        var run = batches.From(new TrainingPosition(0, 0), epochs: 2).ToList();
        foreach (var epoch in run.GroupBy(b => b.Position.Epoch))
        {
            var sequences = epoch.SelectMany(b => b.Batch.Sequences).ToList();
            Assert.All(epoch, b => Assert.Equal(((PairBatch)b.Batch).Pairs.Select(p => $"pair-{p.PairId}-chosen"), ((PairBatch)b.Batch).Chosen.Select(c => c.Key)));
            Assert.Equal(stored.Keys.Order(), sequences.Where((_, i) => i % 2 == 0).Select(s => long.Parse(s.Key.Split('-')[1])).Order());
            for (int i = 0; i < sequences.Count; i += 2)
            {
                var pair = stored[long.Parse(sequences[i].Key.Split('-')[1])];
                Assert.Equal($"pair-{pair.PairId}-chosen", sequences[i].Key);
                Assert.Equal($"pair-{pair.PairId}-rejected", sequences[i + 1].Key);
                Assert.Equal(Expected(pair), sequences[i].ImageBytes);
                Assert.Equal(Expected(pair), sequences[i + 1].ImageBytes);
                Assert.Equal(pair.PromptTokenIds!.Concat(pair.ChosenTokenIds!).Select(t => (long)t), sequences[i].InputIds);
                Assert.Equal(pair.PromptTokenIds!.Select(_ => LlavaBatch.IgnoreIndex).Concat(pair.RejectedTokenIds!.Select(t => (long)t)), sequences[i + 1].Labels);
            }
        }

        // Resuming mid-run gives the same batches, images included, as the uninterrupted run from there.
        int firstEpoch = batches.BatchesPerEpoch(0);
        var resumed = batches.From(new TrainingPosition(1, 1), epochs: 2).ToList();
        Assert.Equal(run.Skip(firstEpoch + 1).Select(b => b.Position), resumed.Select(b => b.Position));
        Assert.Equal(run.Skip(firstEpoch + 1).SelectMany(b => b.Batch.Sequences).Select(s => (s.Key, s.ImageBytes)), resumed.SelectMany(b => b.Batch.Sequences).Select(s => (s.Key, s.ImageBytes)));
    }

    [Fact]
    public async Task A_pair_whose_image_is_neither_in_the_shards_nor_on_disk_fails_at_load_naming_the_pair()
    {
        await WriteShardAsync();
        WritePairs(("0000099999", "missing.jpg"));
        long id, keyOnly;
        using (var store = PairStore.Open(Db, readOnly: true))
        {
            var pairs = store.EnumerateTrainingPairs("train").ToList();
            id = pairs.Single(p => p.ImagePath == "missing.jpg").PairId;
            keyOnly = pairs.Where(p => p.ImagePath is null && p.ImageKey is not null).Min(p => p.PairId);
        }
        var e = Assert.Throws<LlavaModException>(() => PairBatches.Load(Db, "train", ImageRoot, [Data]));
        Assert.Contains($"{Db}, row {id}:", e.Message);
        Assert.Contains("missing.jpg not found", e.Message);
        // Without the shards, a pair that names only a shard row key is the first that cannot be found.
        e = Assert.Throws<LlavaModException>(() => PairBatches.Load(Db, "train", ImageRoot));
        Assert.Contains($"row {keyOnly}:", e.Message);
    }

    [Fact]
    public async Task A_truncated_shard_fails_at_load_naming_the_file()
    {
        await WriteShardAsync();
        WritePairs();
        string file = Path.Combine(Data, "00000.parquet");
        byte[] original = File.ReadAllBytes(file);
        File.WriteAllBytes(file, original[..(original.Length - 100)]);
        var e = Assert.Throws<LlavaModException>(() => PairBatches.Load(Db, "train", ImageRoot, [Data]));
        Assert.Contains(file, e.Message);
        Assert.Contains("truncated or corrupt", e.Message);
    }
}
