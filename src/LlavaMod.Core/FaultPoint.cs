using System.Diagnostics;

namespace LlavaMod.Core;

/// <summary>
/// Crash drills: with LLAVAMOD_KILL_AFTER=NAME:N in the environment, the process kills itself with
/// SIGKILL the N-th time it passes the point NAME (e.g. "shard" after a finished output shard), so a
/// test can stop a worker at a known place without racing it, and check that a restart finishes with
/// the same bytes. Without the variable a point costs one dictionary lookup.
/// </summary>
public static class FaultPoint
{
    public const string Variable = "LLAVAMOD_KILL_AFTER";

    static readonly Lazy<(string Name, int Count)?> Plan = new(() => ParsePlan(Environment.GetEnvironmentVariable(Variable)));
    static int _passed;

    public static void Pass(string name)
    {
        if (Plan.Value is not { } plan || plan.Name != name) return;
        if (Interlocked.Increment(ref _passed) >= plan.Count) Process.GetCurrentProcess().Kill();
    }

    static (string, int)? ParsePlan(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        int colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text[(colon + 1)..], out int n) && n > 0 ? (text[..colon], n)
            : throw new LlavaModException($"{Variable} = '{text}': expected NAME:N, e.g. shard:1");
    }
}
