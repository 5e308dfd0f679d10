using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Data.Tests.Images;

/// <summary>A test that needs Debian's Python with Pillow as its reference; skipped (with the reason) where it is missing.</summary>
public sealed class PillowFactAttribute : FactAttribute
{
    public PillowFactAttribute()
    {
        if (!PillowReference.Available) Skip = $"needs {PillowReference.Python} with Pillow (apt-get install python3-pil)";
    }
}

/// <summary>Runs a Pillow snippet on an encoded image and returns the resulting RGB bytes.</summary>
public static class PillowReference
{
    public const string Python = "/usr/bin/python3";

    public static bool Available { get; } = Probe();

    static bool Probe()
    {
        if (!File.Exists(Python)) return false;
        try { return Run("import PIL", []).ExitCode == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// <summary>Opens the image as <c>img</c> (RGB), runs <paramref name="snippet"/>, returns <c>img</c>'s raw RGB bytes.</summary>
    public static byte[] Rgb(byte[] encoded, string snippet)
    {
        string script = "import sys, io\nfrom PIL import Image\nimg = Image.open(io.BytesIO(sys.stdin.buffer.read())).convert('RGB')\n"
            + snippet + "\nsys.stdout.buffer.write(img.convert('RGB').tobytes())\n";
        var (code, stdout, stderr) = Run(script, encoded);
        if (code != 0) throw new InvalidOperationException($"Pillow reference failed: {stderr}");
        return stdout;
    }

    /// <summary>Runs <paramref name="script"/> (Pillow imported as <c>Image</c>) and returns what it writes to <c>out</c> (a BytesIO).</summary>
    public static byte[] Produce(string script)
    {
        var (code, stdout, stderr) = Run("import sys, io\nfrom PIL import Image\nout = io.BytesIO()\n" + script
            + "\nsys.stdout.buffer.write(out.getvalue())\n", []);
        if (code != 0) throw new InvalidOperationException($"Pillow script failed: {stderr}");
        return stdout;
    }

    public static double MeanAbsoluteError(Image<Rgb24> image, byte[] rgb)
    {
        Assert.Equal(image.Width * image.Height * 3, rgb.Length);
        long sum = 0;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
            {
                var p = image[x, y];
                int i = 3 * (y * image.Width + x);
                sum += Math.Abs(p.R - rgb[i]) + Math.Abs(p.G - rgb[i + 1]) + Math.Abs(p.B - rgb[i + 2]);
            }
        return (double)sum / rgb.Length;
    }

    /// <summary>For each encoded image, whether Pillow opens and fully loads it (its default limits, no LOAD_TRUNCATED_IMAGES).</summary>
    public static bool[] Loads(IReadOnlyList<byte[]> images)
    {
        string dir = Directory.CreateTempSubdirectory("pillow-loads").FullName;
        try
        {
            for (int i = 0; i < images.Count; i++) File.WriteAllBytes(Path.Combine(dir, $"{i}.bin"), images[i]);
            string script = "import sys\nfrom PIL import Image\nfor i in range(" + images.Count + "):\n" +
                "    try:\n        im = Image.open(sys.argv[1] + '/%d.bin' % i); im.load(); print(1)\n    except Exception:\n        print(0)\n";
            var start = new ProcessStartInfo(Python, ["-c", script, dir]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException("Pillow reference failed");
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim() == "1").ToArray();
        }
        finally { Directory.Delete(dir, true); }
    }

    static (int ExitCode, byte[] Stdout, string Stderr) Run(string script, byte[] stdin)
    {
        var start = new ProcessStartInfo(Python, ["-c", script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
        copy.Wait();
        process.WaitForExit();
        return (process.ExitCode, stdout.ToArray(), stderr.Result);
    }
}
