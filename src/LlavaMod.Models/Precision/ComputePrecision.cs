using LlavaMod.Core;

namespace LlavaMod.Models;

/// <summary>
/// Precision of a model's matrix products. <see cref="Bf16"/> is mixed precision: bf16 inputs and
/// bf16 copies of the fp32 master weights for the matmuls, fp32 for everything else (see <see cref="Autocast"/>).
/// </summary>
public enum ComputePrecision
{
    Fp32,
    Bf16,
}

/// <summary>Parsing and naming of <see cref="ComputePrecision"/> values as configs and the CLI spell them.</summary>
public static class ComputePrecisions
{
    /// <summary>"fp32" (or "float32") and "bf16" (or "bfloat16"); anything else is a user error naming <paramref name="source"/>.</summary>
    public static ComputePrecision Parse(string value, string source) => value.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => ComputePrecision.Fp32,
        "bf16" or "bfloat16" => ComputePrecision.Bf16,
        _ => throw new LlavaModException($"{source}: precision '{value}' is not supported (expected fp32 or bf16 mixed precision)"),
    };

    public static string Name(this ComputePrecision precision) => precision == ComputePrecision.Bf16 ? "bf16" : "fp32";
}
