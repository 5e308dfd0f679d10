using System.Globalization;

namespace LlavaMod.Core;

/// <summary>
/// One process's share of a split job (a Slurm job array, a Kubernetes Indexed Job): worker
/// <see cref="Index"/> of <see cref="Count"/> takes the work units (data shards, pair batches,
/// blocks) whose index mod Count is Index. Every verb that splits work resolves its share here,
/// from --worker/--workers or, when those are absent, from the scheduler's environment.
/// </summary>
public sealed record WorkerShare(int Index, int Count)
{
    public static readonly WorkerShare Single = new(0, 1);

    /// <summary>Slurm job arrays: the task's id, the lowest id of the array and the number of tasks.</summary>
    public const string SlurmTaskId = "SLURM_ARRAY_TASK_ID", SlurmTaskMin = "SLURM_ARRAY_TASK_MIN", SlurmTaskCount = "SLURM_ARRAY_TASK_COUNT";
    /// <summary>Kubernetes Indexed Jobs set the pod's index; the count is the Job's completions, passed as --workers or in <see cref="WorkersVariable"/>.</summary>
    public const string KubernetesIndex = "JOB_COMPLETION_INDEX";
    public const string WorkersVariable = "LLAVAMOD_WORKERS";

    public bool IsSplit => Count > 1;

    public bool Owns(long unit) => unit % Count == Index;

    /// <summary>The units of <paramref name="all"/> (in order) whose position this worker owns.</summary>
    public IReadOnlyList<T> Take<T>(IReadOnlyList<T> all) => all.Where((_, i) => Owns(i)).ToList();

    public override string ToString() => $"worker {Index} of {Count}";

    /// <summary>
    /// The share from the flags, else from the environment: index = SLURM_ARRAY_TASK_ID −
    /// SLURM_ARRAY_TASK_MIN (so --array=1-8 works as 0-7) or JOB_COMPLETION_INDEX; count =
    /// SLURM_ARRAY_TASK_COUNT or LLAVAMOD_WORKERS. Neither flags nor variables: one process.
    /// </summary>
    public static WorkerShare Resolve(int? worker, int? workers, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string source = "--worker";
        int? index = worker;
        int? count = workers;
        if (index is null)
        {
            if (Number(environment, SlurmTaskId) is { } id)
            {
                index = id - (Number(environment, SlurmTaskMin) ?? 0);
                source = environment(SlurmTaskMin) is not null ? $"{SlurmTaskId} - {SlurmTaskMin}" : SlurmTaskId;
                count ??= Number(environment, SlurmTaskCount);
            }
            else if (Number(environment, KubernetesIndex) is { } k8s)
            {
                index = k8s;
                source = KubernetesIndex;
            }
        }
        string countSource = workers is not null ? "--workers" : count is not null ? SlurmTaskCount : WorkersVariable;
        count ??= Number(environment, WorkersVariable);
        if (index is null && count is null) return Single;
        if (index is null)
            throw new LlavaModException($"{countSource} = {count} needs --worker i (or {SlurmTaskId} / {KubernetesIndex} in the environment)");
        if (count is null)
            throw new LlavaModException($"{source} = {index} but no worker count: pass --workers n (or set {SlurmTaskCount} / {WorkersVariable})");
        if (count < 1 || index < 0 || index >= count)
            throw new LlavaModException($"{source} = {index} with {count} workers: need 0 <= worker < workers");
        return new WorkerShare(index.Value, count.Value);
    }

    static int? Number(Func<string, string?> environment, string name)
    {
        string? text = environment(name);
        if (string.IsNullOrWhiteSpace(text)) return null;
        return int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value
            : throw new LlavaModException($"environment variable {name} = '{text}' is not a whole number");
    }
}
