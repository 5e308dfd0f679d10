using LlavaMod.Core;

namespace LlavaMod.Cli.Tests.Cluster;

/// <summary>How a process finds its share of a split job: flags first, then Slurm's or Kubernetes' variables.</summary>
public sealed class WorkerShareTests
{
    static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Without_flags_or_variables_there_is_one_process() =>
        Assert.Equal(WorkerShare.Single, WorkerShare.Resolve(null, null, Env()));

    [Fact]
    public void A_Slurm_array_task_is_its_id_minus_the_arrays_first_id()
    {
        var share = WorkerShare.Resolve(null, null, Env(("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")));
        Assert.Equal(new WorkerShare(3, 4), share);
        Assert.Equal([3L, 7L], Enumerable.Range(0, 9).Select(i => (long)i).Where(share.Owns));
    }

    [Fact]
    public void A_Kubernetes_indexed_pod_takes_its_count_from_the_flag_or_LLAVAMOD_WORKERS()
    {
        Assert.Equal(new WorkerShare(2, 8), WorkerShare.Resolve(null, 8, Env(("JOB_COMPLETION_INDEX", "2"))));
        Assert.Equal(new WorkerShare(2, 8), WorkerShare.Resolve(null, null, Env(("JOB_COMPLETION_INDEX", "2"), ("LLAVAMOD_WORKERS", "8"))));
        var noCount = Assert.Throws<LlavaModException>(() => WorkerShare.Resolve(null, null, Env(("JOB_COMPLETION_INDEX", "2"))));
        Assert.Contains("JOB_COMPLETION_INDEX = 2 but no worker count", noCount.Message);
    }

    [Fact]
    public void Flags_win_over_the_environment() =>
        Assert.Equal(new WorkerShare(1, 2), WorkerShare.Resolve(1, 2, Env(("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "6"))));

    [Theory]
    [InlineData(3, 3, "--worker = 3 with 3 workers: need 0 <= worker < workers")]
    [InlineData(null, 3, "--workers = 3 needs --worker i")]
    public void An_index_outside_the_job_is_refused(int? worker, int? workers, string message) =>
        Assert.Contains(message, Assert.Throws<LlavaModException>(() => WorkerShare.Resolve(worker, workers, Env())).Message);

    [Fact]
    public void A_task_id_that_is_not_a_number_is_named() =>
        Assert.Contains("SLURM_ARRAY_TASK_ID = 'x'", Assert.Throws<LlavaModException>(() => WorkerShare.Resolve(null, null, Env(("SLURM_ARRAY_TASK_ID", "x")))).Message);
}
