using LlavaMod.Core;

namespace LlavaMod.Data.Tests.Core;

/// <summary>The shared image-root resolver every verb with --image-root uses (issue 16.5).</summary>
public class ImageRootTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("root").FullName;
    readonly string _outside = Directory.CreateTempSubdirectory("outside").FullName;
    public void Dispose() { Directory.Delete(_root, true); Directory.Delete(_outside, true); }

    [Fact]
    public void Files_inside_and_links_that_stay_inside_resolve_while_links_and_paths_leaving_the_root_are_refused()
    {
        File.WriteAllText(Path.Combine(_root, "a.png"), "a");
        File.WriteAllText(Path.Combine(_outside, "secret.png"), "s");
        File.CreateSymbolicLink(Path.Combine(_root, "inner-link.png"), Path.Combine(_root, "a.png"));
        File.CreateSymbolicLink(Path.Combine(_root, "outer-link.png"), Path.Combine(_outside, "secret.png"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "dir"), _outside);
        var root = new ImageRoot(_root);

        Assert.Equal(RootedPathStatus.Found, root.Locate("a.png").Status);
        Assert.Equal(RootedPathStatus.Found, root.Locate("inner-link.png").Status);
        Assert.Equal(RootedPathStatus.Missing, root.Locate("b.png").Status);
        Assert.Equal(RootedPathStatus.OutsideRoot, root.Locate("outer-link.png").Status);
        Assert.Equal(RootedPathStatus.OutsideRoot, root.Locate("dir/secret.png").Status);
        Assert.Equal(RootedPathStatus.OutsideRoot, root.Locate("../" + Path.GetFileName(_outside) + "/secret.png").Status);
        Assert.Equal(RootedPathStatus.OutsideRoot, root.Locate(Path.Combine(_outside, "secret.png")).Status);

        var e = Assert.Throws<LlavaModException>(() => ImageRoot.FindFile(_root, "outer-link.png", "pairs.sqlite, pair 7"));
        Assert.StartsWith("pairs.sqlite, pair 7: image path 'outer-link.png' leads outside the image root", e.Message);
        Assert.Equal(Path.Combine(_root, "a.png"), ImageRoot.FindFile(_root, "a.png", "pair 1"));
    }

    [Fact]
    public void A_root_that_does_not_exist_finds_nothing_rather_than_failing()
    {
        string missing = Path.Combine(_root, "no-such-folder");
        Assert.Equal(RootedPathStatus.Missing, new ImageRoot(missing).Locate("a.png").Status);
        Assert.Null(ImageRoot.FindFile(missing, "a.png", "pair 1"));
    }
}
