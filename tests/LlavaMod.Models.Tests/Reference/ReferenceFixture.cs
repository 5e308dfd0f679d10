using System.Diagnostics;
using LlavaMod.Models.IO;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests.Reference;

/// <summary>
/// Runs Reference/make_reference.py once (Debian's /usr/bin/python3 with PyTorch) into a temp
/// folder: tiny HF-layout checkpoints plus expected outputs computed independently in float64.
/// </summary>
public sealed class ReferenceFixture : IDisposable
{
    const string Python = "/usr/bin/python3";

    public ReferenceFixture()
    {
        TorchRuntime.EnsureLoaded();
        Folder = Path.Combine(Path.GetTempPath(), "llavamod-models-ref-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        if (!File.Exists(Python) || Run(Python, "-c \"import torch\"").ExitCode != 0)
            throw new InvalidOperationException(
                "These tests compare with PyTorch: /usr/bin/python3 cannot import torch. Run .ci/run (it does " +
                "'apt-get install -y python3-torch python3-numpy libopenblas0-pthread') and retry.");
        string script = Path.Combine(AppContext.BaseDirectory, "Reference", "make_reference.py");
        var result = Run(Python, $"\"{script}\" \"{Folder}\"");
        if (result.ExitCode != 0) throw new InvalidOperationException($"make_reference.py failed ({result.ExitCode}): {result.Output}");
        Expected = SafeTensorsFile.Open(Path.Combine(Folder, "expected.safetensors"));
    }

    public string Folder { get; }
    public SafeTensorsFile Expected { get; }

    public string Dir(string name) => Path.Combine(Folder, name);

    public Tensor Get(string name) => Expected.Read(name);

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    static (int ExitCode, string Output) Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}

[CollectionDefinition(Name)]
public sealed class ReferenceCollection : ICollectionFixture<ReferenceFixture>
{
    public const string Name = "PyTorch reference";
}

public static class TensorAssert
{
    /// <summary>Asserts equal shapes and max |expected - actual| ≤ tolerance.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64).cpu()).abs().max();
        double max = diff.item<double>();
        Assert.True(max <= tolerance, $"max abs difference {max:G4} exceeds {tolerance:G4}");
    }

    /// <summary>
    /// <see cref="Close"/> at the real positions of <paramref name="mask"/> (B, T) only, for outputs (B, T, ...): the
    /// decoder runs padded batches on their real positions (<see cref="PackedTokens"/>) and returns zeros at padding,
    /// where Hugging Face returns whatever the padding's own rows compute.
    /// </summary>
    public static void CloseAtRealPositions(Tensor expected, Tensor actual, Tensor mask, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = torch.NewDisposeScope();
        var real = mask.ne(LongLivedScalars.IntZero).reshape(mask.shape[0], mask.shape[1], 1).expand(expected.shape);
        Assert.True(real.any().item<bool>(), "the mask has no real position");
        Close(expected.masked_select(real), actual.cpu().masked_select(real), tolerance);
    }

    public static double MaxAbs(Tensor t)
    {
        using var m = t.to(ScalarType.Float64).abs().max();
        return m.item<double>();
    }
}
