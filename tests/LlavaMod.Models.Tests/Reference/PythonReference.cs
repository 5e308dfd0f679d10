using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlavaMod.Models.Tests.Reference;

/// <summary>
/// Runs an independent Python/PyTorch reference script (Debian's python3-torch, only importable
/// from /usr/bin/python3) on a JSON case and returns its JSON result.
/// </summary>
public static class PythonReference
{
    const string Python = "/usr/bin/python3";

    public static JsonNode Run(string script, object input)
    {
        string scriptPath = Path.Combine(AppContext.BaseDirectory, "Reference", script);
        Assert.True(File.Exists(scriptPath), $"reference script missing: {scriptPath}");
        string dir = Directory.CreateTempSubdirectory("llavamod-ref-").FullName;
        try
        {
            string inPath = Path.Combine(dir, "case.json"), outPath = Path.Combine(dir, "result.json");
            File.WriteAllText(inPath, JsonSerializer.Serialize(input));
            var psi = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { scriptPath, inPath, outPath }) psi.ArgumentList.Add(a);
            psi.Environment["OMP_NUM_THREADS"] = "1";
            using var p = Process.Start(psi)!;
            string stderr = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0,
                $"{script} failed (exit {p.ExitCode}). It needs PyTorch in {Python}: apt-get install -y python3-torch python3-numpy. stderr:\n{stderr}");
            return JsonNode.Parse(File.ReadAllText(outPath))!;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static float[] Floats(JsonNode node) => Flatten(node).Select(v => (float)v).ToArray();
    public static long[] Longs(JsonNode node) => Flatten(node).Select(v => (long)v).ToArray();

    static IEnumerable<double> Flatten(JsonNode node) => node is JsonArray a
        ? a.SelectMany(n => Flatten(n!))
        : [node.GetValue<double>()];
}
