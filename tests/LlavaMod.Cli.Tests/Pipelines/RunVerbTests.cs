using System.Text.Json;
using LlavaMod.Cli.Tests.EndToEnd;

namespace LlavaMod.Cli.Tests.Pipelines;

/// <summary>
/// <c>llavamod run PIPELINE</c> as a user runs it, judged by what the steps leave on disk: two tiny demo corpora and
/// the shards of the second. <c>--set</c> reaches the steps' arguments, <c>--dry-run</c> writes nothing,
/// <c>--until</c>/<c>--from</c> bound the steps that run, finished steps are skipped on a rerun unless their resolved
/// arguments changed or <c>--force</c> is given.
/// </summary>
public sealed class RunVerbTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Pipeline()
    {
        string path = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(path, """
        { "name": "tiny", "parameters": { "out": "${pipeline_dir}/out", "scenes": "2", "seed": "7" },
          "steps": [
            { "name": "corpus-a", "args": ["demo-data", "--out", "${out}/a", "--train", "${scenes}", "--val", "0", "--test", "0", "--mine", "0", "--seed", "${seed}", "--force"] },
            { "name": "corpus-b", "args": ["demo-data", "--out", "${out}/b", "--train", "1", "--val", "0", "--test", "0", "--mine", "0", "--seed", "${seed}", "--force"] },
            { "name": "shard-b", "args": ["shard", "--input", "${out}/b/train/conversations.json", "--image-root", "${out}/b/train", "--template", "qwen", "--out", "${out}/shards-b", "--threads", "1", "--resume"] }
          ] }
        """);
        return path;
    }

    string Out(params string[] parts) => Path.Combine([_dir, "out", .. parts]);

    string Run(params string[] args) => LlavamodProcess.Succeeds(_dir, ["run", Pipeline(), .. args]);

    static int Scenes(string corpus) => File.ReadAllLines(Path.Combine(corpus, "train", "scenes.jsonl")).Count(l => l.Trim().Length > 0);

    static int Conversations(string corpus)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(corpus, "train", "conversations.json")));
        return doc.RootElement.GetArrayLength();
    }

    [Fact]
    public void Dry_run_prints_every_step_with_the_overrides_resolved_and_writes_nothing()
    {
        string output = Run("--dry-run", "--set", "scenes=5", "--set", "seed=9");
        var lines = output.Trim().Split('\n').Select(l => l.Trim()).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal($"corpus-a: llavamod demo-data --out {Out("a")} --train 5 --val 0 --test 0 --mine 0 --seed 9 --force", lines[0]);
        Assert.StartsWith($"shard-b: llavamod shard --input {Out("b", "train", "conversations.json")} ", lines[2]);
        Assert.False(Directory.Exists(Out()), "a dry run wrote files");
    }

    [Fact]
    public void Until_stops_a_rerun_skips_finished_steps_a_changed_override_reruns_its_step_and_force_reruns_all()
    {
        Run("--set", "scenes=3", "--until", "corpus-a");
        Assert.Equal(3, Scenes(Out("a")));
        Assert.False(Directory.Exists(Out("b")), "--until corpus-a ran a later step");

        File.Delete(Out("a", "README.md")); // a marker: only a rerun of corpus-a writes it again
        string rerun = Run("--set", "scenes=3");
        Assert.Contains("corpus-a: done earlier, skipped", rerun);
        Assert.False(File.Exists(Out("a", "README.md")), "a finished step ran again");
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Out("shards-b", "dataset.json"))))
            Assert.Equal(Conversations(Out("b")), manifest.RootElement.GetProperty("statistics").GetProperty("rows").GetInt32());

        Run("--set", "scenes=4"); // corpus-a's arguments change: it runs again, the others are skipped
        Assert.Equal(4, Scenes(Out("a")));
        File.Delete(Out("b", "README.md"));
        Run("--set", "scenes=4");
        Assert.False(File.Exists(Out("b", "README.md")));

        string forced = Run("--set", "scenes=4", "--force");
        Assert.DoesNotContain("skipped", forced);
        Assert.True(File.Exists(Out("b", "README.md")), "--force did not rerun corpus-b");
    }

    [Fact]
    public void From_skips_the_earlier_steps_even_when_they_never_ran()
    {
        string output = Run("--from", "corpus-b");
        Assert.Contains("corpus-a: skipped (before --from)", output);
        Assert.False(Directory.Exists(Out("a")));
        Assert.Equal(1, Scenes(Out("b")));
        Assert.True(File.Exists(Out("shards-b", "dataset.json")));
    }

    [Fact]
    public void An_unknown_parameter_or_step_is_a_one_line_error_naming_it()
    {
        var badSet = LlavamodProcess.Run(_dir, "run", Pipeline(), "--set", "sceens=3");
        Assert.Equal(1, badSet.ExitCode);
        Assert.Contains("sceens", badSet.Stderr);
        Assert.Single(badSet.Stderr.Trim().Split('\n'));
        var badStep = LlavamodProcess.Run(_dir, "run", Pipeline(), "--until", "corpus-c");
        Assert.Equal(1, badStep.ExitCode);
        Assert.Contains("corpus-c", badStep.Stderr);
        Assert.False(Directory.Exists(Out()), "a refused run wrote files");
    }
}
