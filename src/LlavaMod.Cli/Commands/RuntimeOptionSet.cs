using System.CommandLine;
using LlavaMod.Models;
using LlavaMod.Models.Runtime;

namespace LlavaMod.Cli.Commands;

/// <summary>
/// --device, --threads and --precision, declared once for every verb that runs a model and parsed
/// into one <see cref="RuntimeOptions"/>; library code never sees the strings.
/// </summary>
public sealed class RuntimeOptionSet
{
    readonly Option<string> _device = new("--device") { Description = "auto (CUDA when present), cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
    readonly Option<int> _threads = new("--threads") { Description = "Torch CPU threads (0 = one per core)", DefaultValueFactory = _ => 0 };
    readonly Option<string>? _precision;

    /// <summary>Adds the options to <paramref name="command"/>; <paramref name="precision"/> false for verbs that always compute in fp32.</summary>
    public RuntimeOptionSet(Command command, bool precision = true)
    {
        command.Options.Add(_device);
        command.Options.Add(_threads);
        if (!precision) return;
        _precision = new Option<string>("--precision")
        {
            Description = "fp32, or bf16 mixed precision (bf16 matmuls on the fp32 weights; several times faster on CPUs with AVX512_BF16)",
            DefaultValueFactory = _ => "fp32",
        };
        command.Options.Add(_precision);
    }

    public RuntimeOptions Parse(ParseResult parse) => new(
        DeviceRequest.Parse(parse.GetValue(_device)!, "--device"),
        parse.GetValue(_threads),
        _precision is null ? ComputePrecision.Fp32 : ComputePrecisions.Parse(parse.GetValue(_precision)!, "--precision"));
}
