using LlavaMod.Core;

namespace LlavaMod.Data.Tests.Core;

public class AtomicFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_replaces_the_whole_file_and_leaves_no_temp_files()
    {
        string path = Path.Combine(_dir, "a.txt");
        AtomicFile.WriteAllText(path, "first version, longer");
        AtomicFile.WriteAllText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_failing_writer_keeps_the_old_file_intact()
    {
        string path = Path.Combine(_dir, "b.txt");
        AtomicFile.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() =>
            AtomicFile.Write(path, s => { s.Write("partial"u8); throw new InvalidOperationException("boom"); }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Stale_temp_files_are_cleaned()
    {
        File.WriteAllText(Path.Combine(_dir, "c.parquet" + AtomicFile.TempMarker + "123-abc"), "half");
        File.WriteAllText(Path.Combine(_dir, "keep.parquet"), "whole");
        Assert.Equal(1, AtomicFile.CleanStaleTempFiles(_dir));
        Assert.Equal(new[] { "keep.parquet" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}
