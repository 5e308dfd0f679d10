using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Reference;

/// <summary>
/// Runs Reference/losses_reference.py (Debian's /usr/bin/python3 with python3-torch) on a request
/// and returns its JSON answer. Fails, not skips, when PyTorch is missing: .ci/run installs it.
/// </summary>
public static class PythonReference
{
    const string Python = "/usr/bin/python3";

    public static JsonElement Run(JsonObject request)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "Reference", "losses_reference.py");
        string dir = Directory.CreateTempSubdirectory("llavamod-ref-").FullName;
        try
        {
            string input = Path.Combine(dir, "request.json"), output = Path.Combine(dir, "result.json");
            File.WriteAllText(input, request.ToJsonString());
            var psi = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(input);
            psi.ArgumentList.Add(output);
            using var process = StartOrFail(psi);
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                if (stderr.Contains("No module named"))
                    Assert.Fail($"{Python} cannot import torch/numpy ({LastLine(stderr)}). Run .ci/run (it installs python3-torch, python3-numpy and libopenblas0-pthread with apt-get), then rerun the tests.");
                Assert.Fail($"reference script failed (exit {process.ExitCode}): {stderr}");
            }
            return JsonDocument.Parse(File.ReadAllText(output)).RootElement.Clone();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static Process StartOrFail(ProcessStartInfo psi)
    {
        if (!File.Exists(Python))
            Assert.Fail($"{Python} not found: the PyTorch reference tests need Debian's python3 with python3-torch. Run .ci/run to install them.");
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + Python);
    }

    static string LastLine(string s) => s.TrimEnd().Split('\n')[^1];

    /// <summary>A tensor as {"shape", "data"} with exact float round trip.</summary>
    public static JsonObject Encode(Tensor t)
    {
        var shape = new JsonArray(t.shape.Select(d => (JsonNode)JsonValue.Create(d)!).ToArray());
        using var flat = t.detach().cpu().reshape(-1);
        JsonArray data = t.dtype switch
        {
            ScalarType.Float32 => new JsonArray(flat.data<float>().ToArray().Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
            ScalarType.Float64 => new JsonArray(flat.data<double>().ToArray().Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
            ScalarType.Int64 => new JsonArray(flat.data<long>().ToArray().Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
            ScalarType.Bool => new JsonArray(flat.data<bool>().ToArray().Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
            _ => throw new NotSupportedException(t.dtype.ToString()),
        };
        return new JsonObject { ["shape"] = shape, ["data"] = data };
    }

    public static double[] Data(JsonElement encoded) =>
        encoded.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();

    /// <summary>Asserts |a − b| ≤ tol·max(1, |b|) element-wise.</summary>
    public static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= tol * Math.Max(1.0, Math.Abs(expected[i]))))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|diff| {err:E2} > {tol:E0})");
        }
    }

    public static void AssertClose(double expected, double actual, double tol, string what) =>
        AssertClose([expected], [actual], tol, what);

    public static double[] ToDoubles(Tensor t)
    {
        using var d = t.detach().cpu().to_type(ScalarType.Float64).reshape(-1);
        return d.data<double>().ToArray();
    }
}
