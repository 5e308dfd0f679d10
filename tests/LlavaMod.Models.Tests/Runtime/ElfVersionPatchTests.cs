using LlavaMod.Models.Runtime;

namespace LlavaMod.Models.Tests.Runtime;

public class ElfVersionPatchTests
{
    static string TorchSharpLibrary()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"{path} missing");
        return path;
    }

    [Fact]
    public void Marking_a_required_version_weak_changes_only_its_flag_and_is_idempotent()
    {
        byte[] original = File.ReadAllBytes(TorchSharpLibrary());
        byte[] bytes = (byte[])original.Clone();
        // The shipped file may already be patched by TorchRuntime on this host: count both ways.
        int first = ElfVersionPatch.MarkVersionWeak(bytes, "GLIBCXX_3.4.32");
        Assert.Equal(0, ElfVersionPatch.MarkVersionWeak(bytes, "GLIBCXX_3.4.32"));
        int differing = original.Zip(bytes).Count(p => p.First != p.Second);
        Assert.Equal(first, differing); // one flag byte per Vernaux entry, nothing else
        Assert.True(ElfVersionPatch.Mentions(bytes, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void A_version_that_is_not_required_is_left_alone()
    {
        byte[] bytes = File.ReadAllBytes(TorchSharpLibrary());
        Assert.Equal(0, ElfVersionPatch.MarkVersionWeak(bytes, "GLIBCXX_99.0"));
    }

    [Fact]
    public void Non_elf_input_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionPatch.MarkVersionWeak(new byte[100], "X"));
    }
}
