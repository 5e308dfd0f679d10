using System.Diagnostics;
using LlavaMod.Preferences;

namespace LlavaMod.Benchmarks.Pairs;

/// <summary>
/// Timed console modes (not BenchmarkDotNet: one insert pass over a large file is the measurement):
/// <c>pairs-generate N FILE</c>, <c>pairs-schema DB</c> (an empty migrated index, the Python peer's
/// starting point), <c>pairs-insert FILE DB [BATCH]</c> (PairStore.AddMinedBatch, one transaction per
/// batch) and <c>pairs-list DB</c> (the <c>pairs list</c> query, page of 50, filters and sorts).
/// </summary>
public static class PairStoreBench
{
    /// <summary>The run every benchmark insert belongs to (the Python peer inserts the same row).</summary>
    public static readonly RunInfo Run = new("bench", "teacher", "t1", "sampler", "s1", "reference", "r1", "{}");

    public static int RunMode(string[] args)
    {
        switch (args[0])
        {
            case "pairs-generate": MinedPairFile.Generate(args[2], int.Parse(args[1])); return 0;
            case "pairs-schema": using (PairStore.Open(args[1])) { } return 0;
            case "pairs-insert": Insert(args[1], args[2], args.Length > 3 ? int.Parse(args[3]) : 1000); return 0;
            case "pairs-list": PairListBench.Run(args[1]); return 0;
            default: Console.Error.WriteLine($"unknown mode {args[0]}"); return 2;
        }
    }

    static void Insert(string file, string db, int batchSize)
    {
        using var store = PairStore.Open(db);
        long runId = store.CreateRun(Run);
        var process = Process.GetCurrentProcess();
        TimeSpan insertWall = TimeSpan.Zero, insertCpu = TimeSpan.Zero;
        var parseClock = new Stopwatch();
        long pairs = 0;
        using var batches = MinedPairFile.ReadBatches(file, batchSize).GetEnumerator();
        while (true)
        {
            parseClock.Start();
            bool more = batches.MoveNext();
            parseClock.Stop();
            if (!more) break;
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            pairs += store.AddMinedBatch(runId, batches.Current).PairsInserted;
            insertWall += wall.Elapsed;
            process.Refresh();
            insertCpu += process.TotalProcessorTime - cpu0;
            if (pairs % 100_000 < batchSize)
                Console.Error.WriteLine($"  {pairs} pairs: {pairs / insertWall.TotalSeconds:F0} pairs/s wall, {pairs / insertCpu.TotalSeconds:F0} pairs/s CPU so far");
        }
        using var memory = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        memory.Open();
        using var version = memory.CreateCommand();
        version.CommandText = "SELECT sqlite_version()";
        Console.WriteLine($"csharp (Microsoft.Data.Sqlite, SQLite {version.ExecuteScalar()}): {pairs} pairs, batch {batchSize}: insert {insertWall.TotalSeconds:F2} s wall ({pairs / insertWall.TotalSeconds:F0} pairs/s), " +
                          $"{insertCpu.TotalSeconds:F2} s CPU ({pairs / Math.Max(insertCpu.TotalSeconds, 1e-9):F0} pairs/s); parsing the file (untimed) {parseClock.Elapsed.TotalSeconds:F1} s; " +
                          $"db {new FileInfo(db).Length / 1e6:F0} MB");
    }
}
