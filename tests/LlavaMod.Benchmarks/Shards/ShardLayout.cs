using ParquetSharp;

namespace LlavaMod.Benchmarks.Shards;

/// <summary>Compares two Parquet files' layouts, so that a write benchmark compares like with like.</summary>
public static class ShardLayout
{
    public static void RequireSame(string ours, string peer)
    {
        var a = Describe(ours);
        var b = Describe(peer);
        if (!a.SequenceEqual(b))
            throw new InvalidOperationException("the two files differ in layout:\n  ours: " + string.Join("\n        ", a) + "\n  peer: " + string.Join("\n        ", b));
    }

    /// <summary>Row groups, rows, and each leaf column's path, physical type, max definition / repetition level and codec.</summary>
    static List<string> Describe(string path)
    {
        using var file = new ParquetFileReader(path);
        var meta = file.FileMetaData;
        var lines = new List<string> { $"{meta.NumRowGroups} row groups, {meta.NumRows} rows" };
        using var group = file.RowGroup(0);
        for (int i = 0; i < meta.Schema.NumColumns; i++)
        {
            var c = meta.Schema.Column(i);
            lines.Add($"{c.Path.ToDotString()} {c.PhysicalType} def {c.MaxDefinitionLevel} rep {c.MaxRepetitionLevel} {group.MetaData.GetColumnChunkMetaData(i).Compression}");
        }
        return lines;
    }
}
