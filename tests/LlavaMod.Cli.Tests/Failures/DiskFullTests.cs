using System.CommandLine;
using LlavaMod.Core;

namespace LlavaMod.Cli.Tests.Failures;

/// <summary>
/// A full disk ends any verb with one line naming the file and saying that a rerun continues, exit 1,
/// no stack trace (issue 16.7). The disk-full errors here are real: writes to /dev/full fail with ENOSPC.
/// </summary>
public class DiskFullTests
{
    const string DevFull = "/dev/full";

    static void WriteToDevFull()
    {
        using var stream = new FileStream(DevFull, FileMode.Open, FileAccess.Write);
        stream.Write(new byte[1 << 16]);
        stream.Flush();
    }

    static (int Code, string Error) Run(Action action)
    {
        var root = new RootCommand();
        var verb = new Command("write");
        // as a verb's worker task would surface it: inside an AggregateException
        verb.SetAction(_ => Task.Run(action).Wait());
        root.Subcommands.Add(verb);
        var error = new StringWriter();
        int code = CliRunner.RunAsync(root, ["write"], error).GetAwaiter().GetResult();
        return (code, error.ToString());
    }

    [Fact]
    public void An_io_error_for_a_full_disk_anywhere_in_a_verb_is_one_line_naming_the_file_and_the_rerun()
    {
        var (code, error) = Run(WriteToDevFull);
        Assert.Equal(1, code);
        Assert.Equal($"error: {DevFull}: no space left on the device; free space, then rerun the same command (shard and train with --resume): " +
            "finished files are kept and the work continues from there" + Environment.NewLine, error);
    }

    [Fact]
    public void An_atomic_write_that_fills_the_disk_names_the_target_not_the_temp_file_and_leaves_nothing_behind()
    {
        string dir = Directory.CreateTempSubdirectory("diskfull").FullName;
        string target = Path.Combine(dir, "00003.parquet");
        try
        {
            var e = Assert.Throws<LlavaModException>(() => AtomicFile.Write(target, _ => WriteToDevFull()));
            Assert.StartsWith($"{target}: no space left on the device", e.Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Other_errors_still_go_their_own_way()
    {
        var (code, error) = Run(() => throw new LlavaModException("x.json: bad"));
        Assert.Equal(1, code);
        Assert.Equal("error: x.json: bad" + Environment.NewLine, error);
    }
}
