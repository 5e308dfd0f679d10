using Apache.Arrow;
using Apache.Arrow.Types;
using LlavaMod.Data.Shards;
using ParquetSharp;
using ParquetSharp.Arrow;

namespace LlavaMod.Benchmarks.Shards;

/// <summary>
/// The peer: the same rows written with ParquetSharp (Arrow C++'s Parquet writer) through its Arrow
/// API, as a C# user of that library would: one Arrow record batch per row group, the same column
/// layout as our shards (struct image {bytes, path}, list&lt;int32&gt; input_ids, binary label_mask),
/// zstd at the same level (3, which Parquet.Net's "optimal" means) and the same key-value metadata.
/// </summary>
public static class ParquetSharpShardWriter
{
    static readonly StructType ImageType = new([new Field("bytes", BinaryType.Default, true), new Field("path", StringType.Default, true)]);
    static readonly ListType IdsType = new(new Field("element", Int32Type.Default, false));

    // Parquet.Net writes the derived class's columns first.
    static readonly Schema ArrowSchema = new Schema.Builder()
        .Field(new Field("input_ids", IdsType, true))
        .Field(new Field("label_mask", BinaryType.Default, true))
        .Field(new Field("key", StringType.Default, true))
        .Field(new Field("source", StringType.Default, true))
        .Field(new Field("source_row", Int64Type.Default, false))
        .Field(new Field("id", StringType.Default, true))
        .Field(new Field("image", ImageType, true))
        .Field(new Field("image_sha256", StringType.Default, true))
        .Field(new Field("original_width", Int32Type.Default, true))
        .Field(new Field("original_height", Int32Type.Default, true))
        .Field(new Field("width", Int32Type.Default, true))
        .Field(new Field("height", Int32Type.Default, true))
        .Field(new Field("original_format", StringType.Default, true))
        .Field(new Field("image_format", StringType.Default, true))
        .Field(new Field("conversation", StringType.Default, true))
        .Field(new Field("num_tokens", Int32Type.Default, false))
        .Build();

    public static void Write(string path, IReadOnlyList<ShardRow> rows, int rowGroupRows)
    {
        using var properties = new WriterPropertiesBuilder()
            .Compression(Compression.Zstd).CompressionLevel(3).MaxRowGroupLength(rowGroupRows).Build();
        var schema = new Schema(ArrowSchema.FieldsList, new Dictionary<string, string> { [HuggingFaceFeatures.MetadataKey] = HuggingFaceFeatures.Json<ShardRow>() });
        using var writer = new FileWriter(path, schema, properties);
        for (int start = 0; start < rows.Count; start += rowGroupRows)
        {
            using var batch = Batch(schema, rows, start, Math.Min(rowGroupRows, rows.Count - start));
            writer.WriteRecordBatch(batch);
        }
        writer.Close();
    }

    static RecordBatch Batch(Schema schema, IReadOnlyList<ShardRow> rows, int start, int count)
    {
        IEnumerable<ShardRow> slice = Enumerable.Range(start, count).Select(i => rows[i]);
        var imageBytes = new BinaryArray.Builder();
        var imagePath = new StringArray.Builder();
        var imageValid = new ArrowBuffer.BitmapBuilder(count);
        var idOffsets = new ArrowBuffer.Builder<int>(count + 1).Append(0);
        var idValues = new Int32Array.Builder();
        foreach (var r in slice)
        {
            imageValid.Append(r.Image is not null);
            if (r.Image?.Bytes is { } b) imageBytes.Append(b.AsSpan()); else imageBytes.AppendNull();
            if (r.Image?.Path is { } p) imagePath.Append(p); else imagePath.AppendNull();
            idValues.Append(r.InputIds.AsSpan());
            idOffsets.Append(idValues.Length);
        }
        var ids = new ListArray(IdsType, count, idOffsets.Build(), idValues.Build(), ArrowBuffer.Empty, nullCount: 0);
        var image = new StructArray(ImageType, count, [imageBytes.Build(), imagePath.Build()], imageValid.Build(), imageValid.UnsetBitCount);
        return new RecordBatch(schema,
        [
            ids, Binaries(slice, r => r.LabelMask),
            Strings(slice, r => r.Key), Strings(slice, r => r.Source),
            new Int64Array.Builder().AppendRange(slice.Select(r => r.SourceRow)).Build(),
            Strings(slice, r => r.Id), image, Strings(slice, r => r.ImageSha256),
            Ints(slice, r => r.OriginalWidth), Ints(slice, r => r.OriginalHeight), Ints(slice, r => r.Width), Ints(slice, r => r.Height),
            Strings(slice, r => r.OriginalFormat), Strings(slice, r => r.ImageFormat), Strings(slice, r => r.Conversation),
            new Int32Array.Builder().AppendRange(slice.Select(r => r.NumTokens)).Build(),
        ], count);
    }

    static StringArray Strings(IEnumerable<ShardRow> rows, Func<ShardRow, string?> get)
    {
        var b = new StringArray.Builder();
        foreach (var r in rows) { if (get(r) is { } s) b.Append(s); else b.AppendNull(); }
        return b.Build();
    }

    static Int32Array Ints(IEnumerable<ShardRow> rows, Func<ShardRow, int?> get)
    {
        var b = new Int32Array.Builder();
        foreach (var r in rows) { if (get(r) is { } v) b.Append(v); else b.AppendNull(); }
        return b.Build();
    }

    static BinaryArray Binaries(IEnumerable<ShardRow> rows, Func<ShardRow, byte[]?> get)
    {
        var b = new BinaryArray.Builder();
        foreach (var r in rows) { if (get(r) is { } v) b.Append(v.AsSpan()); else b.AppendNull(); }
        return b.Build();
    }
}
