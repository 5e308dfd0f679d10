using System.CommandLine;
using LlavaMod.Core;

namespace LlavaMod.Cli.Pipelines;

/// <summary>
/// Runs a pipeline's steps in order, in this process. After a step succeeds the runner writes a
/// record (STATE_DIR/.pipeline/STEP.done.json) holding the exact arguments it ran with; a rerun
/// skips steps whose record matches and redoes the rest, so an interrupted pipeline resumes.
/// Each verb is itself resumable, so the interrupted step continues where it stopped.
/// </summary>
public sealed class PipelineRunner(PipelineDefinition definition, string pipelinePath, IReadOnlyDictionary<string, string> overrides)
{
    public sealed record StepRecord(string Step, List<string> Args, DateTimeOffset FinishedAt, double Seconds);

    public IReadOnlyDictionary<string, string> ResolvedParameters { get; } = ResolveParameters(definition, pipelinePath, overrides);

    public IReadOnlyList<(PipelineStep Step, List<string> Args)> ResolvedSteps() =>
        definition.Steps.Select(s => (s, s.Args.Select(a => PipelineParameters.Resolve(a, ResolvedParameters, pipelinePath)).ToList())).ToList();

    public string StateDirectory => Path.Combine(PipelineParameters.Resolve(definition.StateDir, ResolvedParameters, pipelinePath), ".pipeline");

    /// <summary>The indexes of the first and last step to run; an unknown step name is an error.</summary>
    (int Start, int End) Range(string? fromStep, string? untilStep)
    {
        var steps = ResolvedSteps();
        int start = fromStep is null ? 0 : StepIndex(steps, fromStep, "--from");
        int end = untilStep is null ? steps.Count - 1 : StepIndex(steps, untilStep, "--until");
        if (end < start) throw new LlavaModException($"--until {untilStep} comes before --from {fromStep} in {pipelinePath}");
        return (start, end);
    }

    /// <summary>Checks every step before any runs: its parameters resolve, its verb and options parse as
    /// the command line would (unknown verb or option, missing or out-of-range values), and the verb's
    /// own pre-flight check passes (<see cref="StepPreflight"/>: e.g. a train step's stage config).</summary>
    public void Validate(Func<RootCommand> createRoot)
    {
        var steps = ResolvedSteps();
        for (int i = 0; i < steps.Count; i++)
        {
            var (step, args) = steps[i];
            var root = createRoot();
            string where = $"step {i + 1} '{step.Name}'";
            var verbs = root.Subcommands.Select(c => c.Name).ToList();
            if (!verbs.Contains(args[0]))
                throw LlavaModException.ForFile(pipelinePath, $"{where}: unknown verb '{args[0]}'" +
                    (ConfigJson.Closest(args[0], verbs) is { } near ? $"; did you mean {near}?" : $" (verbs: {string.Join(", ", verbs)})"));
            var result = root.Parse(args);
            if (result.Errors.Count > 0)
                throw LlavaModException.ForFile(pipelinePath, $"{where}: {string.Join(" ", result.Errors.Take(3).Select(e => e.Message))}");
            try
            {
                StepPreflight.Check(result);
            }
            catch (LlavaModException e)
            {
                throw LlavaModException.ForFile(pipelinePath, $"{where}: {e.Message}", e);
            }
        }
    }

    /// <summary>What a run would do: every step validated, then the steps from <paramref name="fromStep"/> to
    /// <paramref name="untilStep"/> (what <c>run --dry-run</c> prints).</summary>
    public IReadOnlyList<(PipelineStep Step, List<string> Args)> Plan(Func<RootCommand> createRoot, string? fromStep, string? untilStep)
    {
        var (start, end) = Range(fromStep, untilStep);
        Validate(createRoot);
        return ResolvedSteps().Skip(start).Take(end - start + 1).ToList();
    }

    /// <summary>Runs the steps from <paramref name="fromStep"/> (all when null) after validating all of them; returns the exit code.</summary>
    /// <param name="workers">A worker's share or the merge of the shares (see <see cref="PipelineWorkers"/>); null runs every step whole.</param>
    public async Task<int> RunAsync(Func<RootCommand> createRoot, string? fromStep, bool force, TextWriter log, CancellationToken ct, string? untilStep = null,
        PipelineWorkers? workers = null)
    {
        var steps = ResolvedSteps();
        var (start, end) = Range(fromStep, untilStep);
        Plan(createRoot, fromStep, untilStep);

        for (int i = 0; i <= end; i++)
        {
            var (step, args) = steps[i];
            string recordPath = Path.Combine(StateDirectory, $"{step.Name}.done.json");
            bool before = i < start;
            // A merge is recorded as the whole step (a later plain run goes on after it); a worker's share under its own name.
            var recordArgs = args;
            if (workers is not null && !before)
            {
                if (workers.For(step, args) is not { } split)
                {
                    log.WriteLine($"[{i + 1}/{steps.Count}] {step.Name}: not shard-parallel, skipped (run it once without --worker)");
                    continue;
                }
                (args, recordPath) = (split.Args, Path.Combine(StateDirectory, split.Record));
                if (!workers.Merge) recordArgs = args;
            }
            if (before || (!force && IsDone(recordPath, recordArgs)))
            {
                log.WriteLine($"[{i + 1}/{steps.Count}] {step.Name}: {(before ? "skipped (before --from)" : "done earlier, skipped")}");
                continue;
            }
            log.WriteLine($"[{i + 1}/{steps.Count}] {step.Name}: llavamod {string.Join(' ', args.Select(Quote))}");
            var started = DateTimeOffset.UtcNow;
            int code = await createRoot().Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, ct);
            if (code != 0)
            {
                log.WriteLine($"step '{step.Name}' failed with exit code {code}; fix the cause and rerun: finished steps are kept.");
                return code;
            }
            double seconds = (DateTimeOffset.UtcNow - started).TotalSeconds;
            Json.WriteFileAtomic(recordPath, new StepRecord(step.Name, recordArgs, DateTimeOffset.UtcNow, seconds));
            log.WriteLine($"[{i + 1}/{steps.Count}] {step.Name}: finished in {seconds:F1} s");
        }
        return 0;
    }

    int StepIndex(IReadOnlyList<(PipelineStep Step, List<string> Args)> steps, string name, string option)
    {
        int index = steps.ToList().FindIndex(s => s.Step.Name == name);
        if (index < 0)
            throw new LlavaModException($"{option} {name}: no such step in {pipelinePath} (steps: {string.Join(", ", steps.Select(s => s.Step.Name))})");
        return index;
    }

    static bool IsDone(string recordPath, List<string> args)
    {
        if (!File.Exists(recordPath)) return false;
        var record = Json.ReadFile<StepRecord>(recordPath);
        return record.Args.SequenceEqual(args);
    }

    static Dictionary<string, string> ResolveParameters(PipelineDefinition definition, string pipelinePath, IReadOnlyDictionary<string, string> overrides)
    {
        var values = new Dictionary<string, string>(definition.Parameters)
        {
            ["pipeline_dir"] = Path.GetDirectoryName(Path.GetFullPath(pipelinePath))!,
        };
        foreach (var (key, value) in overrides)
        {
            if (!definition.Parameters.ContainsKey(key))
                throw new LlavaModException($"--set {key}=…: {pipelinePath} has no parameter '{key}' (parameters: {string.Join(", ", definition.Parameters.Keys)})");
            values[key] = value;
        }
        return values.ToDictionary(kv => kv.Key, kv => PipelineParameters.Resolve(kv.Value, values, pipelinePath));
    }

    static string Quote(string arg) => arg.Contains(' ') ? $"\"{arg}\"" : arg;
}
