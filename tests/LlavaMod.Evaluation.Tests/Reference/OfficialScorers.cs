using System.Diagnostics;
using System.Text.Json.Nodes;

namespace LlavaMod.Evaluation.Tests.Reference;

/// <summary>A test that needs Debian's /usr/bin/python3 (the reference is standard-library Python); skipped with the reason where it is missing.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        if (!System.IO.File.Exists(OfficialScorers.Python)) Skip = $"needs {OfficialScorers.Python}";
    }
}

/// <summary>Runs Reference/official_scorers.py, an independent Python transcription of LLaVA's eval_pope.py and the VQA evaluator.</summary>
public static class OfficialScorers
{
    public const string Python = "/usr/bin/python3";

    public static JsonObject Run(string kind, string first, string second)
    {
        string script = System.IO.Path.Combine(AppContext.BaseDirectory, "Reference", "official_scorers.py");
        var start = new ProcessStartInfo(Python, [script, kind, first, second]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"official_scorers.py failed: {stderr.Result}");
        return (JsonObject)JsonNode.Parse(stdout)!;
    }
}
