namespace LlavaMod.Inspector.Tests;

/// <summary>Resolving stored image paths under the image root.</summary>
public sealed class ImageFilesTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-images-").FullName;
    string Root => Path.Combine(_dir, "root");

    public ImageFilesTests()
    {
        Directory.CreateDirectory(Path.Combine(Root, "sub"));
        File.WriteAllBytes(Path.Combine(Root, "sub", "a.png"), [1]);
        File.WriteAllBytes(Path.Combine(Root, "b.jpg"), [2]);
        File.WriteAllBytes(Path.Combine(Root, "notes.txt"), [3]);
        File.WriteAllBytes(Path.Combine(_dir, "secret.png"), [4]);
        Directory.CreateDirectory(Path.Combine(_dir, "root-evil"));
        File.WriteAllBytes(Path.Combine(_dir, "root-evil", "c.png"), [5]);
    }

    [Theory]
    [InlineData("sub/a.png", "image/png")]
    [InlineData("b.jpg", "image/jpeg")]
    [InlineData("sub/../b.jpg", "image/jpeg")]
    public void ServesImagesInsideTheRoot(string stored, string type)
    {
        var found = new ImageFiles(Root).Resolve(stored);
        Assert.NotNull(found);
        Assert.Equal(Path.GetFullPath(Path.Combine(Root, stored)), found.Value.File);
        Assert.Equal(type, found.Value.ContentType);
    }

    [Fact]
    public void ServesAnAbsolutePathInsideTheRoot() =>
        Assert.NotNull(new ImageFiles(Root).Resolve(Path.Combine(Root, "b.jpg")));

    [Theory]
    [InlineData("../secret.png")]
    [InlineData("sub/../../secret.png")]
    [InlineData("../root-evil/c.png")] // shares the root's name as a prefix
    [InlineData("notes.txt")]          // not an image type
    [InlineData("missing.png")]
    [InlineData("")]
    [InlineData(null)]
    public void RefusesPathsOutsideTheRootAndNonImages(string? stored)
    {
        Assert.True(File.Exists(Path.Combine(_dir, "secret.png")));
        Assert.Null(new ImageFiles(Root).Resolve(stored));
    }

    [Fact]
    public void RefusesAbsolutePathsOutsideTheRoot() =>
        Assert.Null(new ImageFiles(Root).Resolve(Path.Combine(_dir, "secret.png")));

    [Fact]
    public void RefusesALinkInsideTheRootThatPointsOutside()
    {
        string link = Path.Combine(Root, "link.png");
        File.CreateSymbolicLink(link, Path.Combine(_dir, "secret.png"));
        Assert.Null(new ImageFiles(Root).Resolve("link.png"));
    }

    [Fact]
    public void RefusesAFolderLinkInsideTheRootThatPointsOutside()
    {
        Directory.CreateSymbolicLink(Path.Combine(Root, "elsewhere"), Path.Combine(_dir, "root-evil"));
        Assert.Null(new ImageFiles(Root).Resolve("elsewhere/c.png"));
    }

    [Fact]
    public void FollowsLinksThatStayInsideTheRootAndARootThatIsALink()
    {
        Directory.CreateSymbolicLink(Path.Combine(Root, "alias"), Path.Combine(Root, "sub"));
        File.CreateSymbolicLink(Path.Combine(Root, "sub", "again.png"), "a.png");
        Assert.NotNull(new ImageFiles(Root).Resolve("alias/a.png"));
        Assert.NotNull(new ImageFiles(Root).Resolve("sub/again.png"));
        string linkedRoot = Path.Combine(_dir, "linked-root");
        Directory.CreateSymbolicLink(linkedRoot, Root);
        Assert.NotNull(new ImageFiles(linkedRoot).Resolve("alias/a.png"));
        Assert.Null(new ImageFiles(linkedRoot).Resolve("../secret.png"));
    }

    [Fact]
    public void SizeComesFromTheImageHeaderAndIsNullForNonImages()
    {
        string png = Path.Combine(Root, "real.png");
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(13, 7))
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, png);
        Assert.Equal((13, 7), ImageFiles.Size(png));
        Assert.Null(ImageFiles.Size(Path.Combine(Root, "b.jpg"))); // one byte, not a JPEG
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
