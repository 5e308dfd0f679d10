using System.CommandLine;

namespace LlavaMod.Cli.Commands;

/// <summary>The --precision option of the verbs that run a model (generate, eval, teacher passes).</summary>
public static class PrecisionOption
{
    public static Option<string> Create() => new("--precision")
    {
        Description = "Compute precision: fp32, or bf16 mixed precision (bf16 matmuls on the fp32 weights; several times faster on CPUs with AVX512_BF16)",
        DefaultValueFactory = _ => "fp32",
    };
}
