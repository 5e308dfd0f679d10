using System.Diagnostics;
using LlavaMod.Cli.Tests.Pipelines;
using LlavaMod.Core;
using YamlDotNet.RepresentationModel;

namespace LlavaMod.Cli.Tests.Cluster;

/// <summary>The job manifests under manifests/: shell syntax, Kubernetes structure read without kubectl, and the
/// worker index the Slurm scripts pass, which must be the one llavamod computes from the same variables.</summary>
public sealed class ManifestTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-manifests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> SlurmScripts() => new(Directory.GetFiles(PipelineFilesTests.RepoFile("manifests"), "*.sbatch").Select(Path.GetFileName)!);
    public static TheoryData<string> KubernetesFiles() => new(Directory.GetFiles(PipelineFilesTests.RepoFile("manifests"), "*.yaml").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(SlurmScripts))]
    public void Slurm_scripts_are_valid_bash(string script)
    {
        var (code, output) = Bash(["-n", PipelineFilesTests.RepoFile($"manifests/{script}")], new Dictionary<string, string>());
        Assert.True(code == 0, output);
    }

    [Theory]
    [MemberData(nameof(KubernetesFiles))]
    public void Kubernetes_jobs_parse_and_indexed_ones_agree_with_their_worker_count(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(PipelineFilesTests.RepoFile($"manifests/{file}"))) stream.Load(reader);
        Assert.NotEmpty(stream.Documents);
        foreach (var document in stream.Documents)
        {
            var job = (YamlMappingNode)document.RootNode;
            Assert.Equal("batch/v1", Scalar(job, "apiVersion"));
            Assert.Equal("Job", Scalar(job, "kind"));
            var spec = Map(job, "spec");
            var pod = Map(Map(spec, "template"), "spec");
            var container = (YamlMappingNode)((YamlSequenceNode)pod.Children["containers"]).Children.Single();
            string command = string.Join(' ', ((YamlSequenceNode)container.Children["args"]).Children.Select(c => ((YamlScalarNode)c).Value));
            Assert.StartsWith("llavamod ", command);
            var claims = ((YamlSequenceNode)pod.Children["volumes"]).Children.Cast<YamlMappingNode>().Select(v => Scalar(Map(v, "persistentVolumeClaim"), "claimName")).ToList();
            Assert.Contains("llavamod-data", claims); // the shared volume every worker and the merge see
            if (Scalar(spec, "completionMode", optional: true) != "Indexed") continue;

            string completions = Scalar(spec, "completions");
            Assert.Equal(completions, Scalar(spec, "parallelism"));
            Assert.Contains($"--worker \"$JOB_COMPLETION_INDEX\" --workers {completions}", command);
            if (command.Contains("llavamod teacher ", StringComparison.Ordinal))
            {
                Assert.Contains("--device cuda", command);
                Assert.Equal("1", Scalar(Map(Map(container, "resources"), "limits"), "nvidia.com/gpu"));
                Assert.Matches(@"--out \S+/w\$JOB_COMPLETION_INDEX", command); // each worker its own folder
            }
        }
    }

    [Theory]
    [InlineData("slurm-teacher.sbatch", "7", "4", "4")]
    [InlineData("slurm-teacher.sbatch", "2", null, "3")]
    [InlineData("slurm-shard.sbatch", "12", "10", "5")]
    public void A_Slurm_array_task_passes_the_worker_index_llavamod_computes_itself(string script, string taskId, string? taskMin, string count)
    {
        // A stand-in llavamod on PATH records the arguments the script passes.
        string bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName, record = Path.Combine(_dir, "args.txt");
        File.WriteAllText(Path.Combine(bin, "llavamod"), $"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{record}'\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(bin, "llavamod"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"), ["STEP"] = "cache-logits",
            ["SLURM_ARRAY_TASK_ID"] = taskId, ["SLURM_ARRAY_TASK_COUNT"] = count, ["OUT"] = Path.Combine(_dir, "out"),
        };
        if (taskMin is not null) environment["SLURM_ARRAY_TASK_MIN"] = taskMin;

        var (code, output) = Bash([PipelineFilesTests.RepoFile($"manifests/{script}")], environment);
        Assert.True(code == 0, output);
        var args = File.ReadAllLines(record);
        string Value(string flag) => args[Array.IndexOf(args, flag) + 1];

        var tool = WorkerShare.Resolve(null, null, name => environment.GetValueOrDefault(name));
        Assert.Equal(tool.Index.ToString(), Value("--worker"));
        Assert.Equal(tool.Count.ToString(), Value("--workers"));
        if (script.Contains("teacher")) Assert.EndsWith($"/w{tool.Index}", Value("--out"));
    }

    static (int Code, string Output) Bash(IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var name in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "STEP", "OUT" }) start.Environment.Remove(name);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    static string Scalar(YamlMappingNode node, string key, bool optional = false) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value!
            : optional ? "" : throw new Xunit.Sdk.XunitException($"no '{key}'");
}
