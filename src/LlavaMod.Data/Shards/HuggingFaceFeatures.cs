using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace LlavaMod.Data.Shards;

/// <summary>
/// The Hugging Face `datasets` features description stored in each shard's key-value metadata
/// under "huggingface" ({"info": {"features": {...}}}), so `datasets`, pyarrow, DuckDB and Polars
/// see typed columns and an Image column without our code.
/// </summary>
public static class HuggingFaceFeatures
{
    public const string MetadataKey = "huggingface";

    /// <summary>Features for the columns of <typeparamref name="T"/>, in the file's column order.</summary>
    public static string Json<T>()
    {
        var all = AllFeatures();
        var features = new JsonObject();
        foreach (var field in typeof(T).GetParquetSchema(false).Fields)
            features[field.Name] = all[field.Name]!.DeepClone();
        return new JsonObject { ["info"] = new JsonObject { ["features"] = features } }.ToJsonString();
    }

    static JsonObject AllFeatures()
    {
        var features = new JsonObject
        {
            ["key"] = Value("string"),
            ["source"] = Value("string"),
            ["source_row"] = Value("int64"),
            ["id"] = Value("string"),
            ["image"] = new JsonObject { ["_type"] = "Image" },
            ["image_sha256"] = Value("string"),
            ["original_width"] = Value("int32"),
            ["original_height"] = Value("int32"),
            ["width"] = Value("int32"),
            ["height"] = Value("int32"),
            ["original_format"] = Value("string"),
            ["image_format"] = Value("string"),
            ["conversation"] = Value("string"),
            ["num_tokens"] = Value("int32"),
        };
        features["input_ids"] = Sequence("int32");
        features["label_mask"] = Value("binary");
        features["prompt"] = Value("string");
        features["chosen"] = Value("string");
        features["rejected"] = Value("string");
        features["prompt_ids"] = Sequence("int32");
        features["chosen_ids"] = Sequence("int32");
        features["rejected_ids"] = Sequence("int32");
        return features;
    }

    static JsonObject Value(string dtype) => new() { ["dtype"] = dtype, ["_type"] = "Value" };
    static JsonObject Sequence(string dtype) => new() { ["feature"] = Value(dtype), ["_type"] = "Sequence" };
}
