using System.Text.Json.Nodes;

namespace LlavaMod.Preferences.Interop;

/// <summary>
/// The Hugging Face `datasets` features of <see cref="TrlPreferenceRow"/>, stored in the Parquet
/// key-value metadata under "huggingface" as {"info": {"features": …}}: `datasets` reads it with
/// <c>Features.from_dict</c> and decodes <c>images</c> as a list of PIL images. Written in the
/// serialisation every `datasets` version reads: a list of structs as a one-element JSON list
/// (<c>[{…}]</c>), the image list as <c>Sequence</c> of <c>Image</c> (what TRL's RLAIF-V recipe casts to),
/// struct fields in the Parquet column order.
/// </summary>
public static class TrlFeatures
{
    public const string MetadataKey = "huggingface";

    public static string Json()
    {
        var features = new JsonObject
        {
            ["id"] = Value("string"),
            ["prompt"] = Messages(),
            ["chosen"] = Messages(),
            ["rejected"] = Messages(),
            ["images"] = new JsonObject { ["feature"] = new JsonObject { ["_type"] = "Image" }, ["_type"] = "Sequence" },
            [TrlPreferenceRow.TeacherChosenColumn] = Value("float64"),
            [TrlPreferenceRow.TeacherRejectedColumn] = Value("float64"),
            ["severity"] = Value("float64"),
        };
        return new JsonObject { ["info"] = new JsonObject { ["features"] = features } }.ToJsonString();
    }

    static JsonArray Messages() => new(new JsonObject
    {
        ["role"] = Value("string"),
        ["content"] = new JsonArray(new JsonObject { ["type"] = Value("string"), ["text"] = Value("string") }),
    });

    static JsonObject Value(string dtype) => new() { ["dtype"] = dtype, ["_type"] = "Value" };
}
