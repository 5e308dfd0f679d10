using System.Text;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LlavaMod.Data.Tests.Etl;

/// <summary>Builds small LLaVA-style inputs with real PNG images in a temp folder.</summary>
sealed class TestCorpus : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("corpus").FullName;
    public string Images => Path.Combine(Root, "images");

    public TestCorpus() { Directory.CreateDirectory(Images); }
    public void Dispose() { try { Directory.Delete(Root, true); } catch (IOException) { } }

    public string MakeImage(string name, int w, int h, byte shade)
    {
        using var img = new Image<Rgb24>(w, h, new Rgb24(shade, (byte)(255 - shade), 7));
        string path = Path.Combine(Images, name);
        img.SaveAsPng(path);
        return name;
    }

    public static object Row(string id, string? image, params (string from, string value)[] turns) =>
        image is null
            ? new { id, conversations = turns.Select(t => new { from = t.from, value = t.value }).ToArray() }
            : new { id, image, conversations = turns.Select(t => new { from = t.from, value = t.value }).ToArray() };

    /// <summary>n rows: most with an image, every 7th text-only, and a few bad ones at fixed places.</summary>
    public IReadOnlyList<object> MixedRows(int n)
    {
        var rows = new List<object>();
        for (int i = 0; i < n; i++)
        {
            if (i % 13 == 5) rows.Add(Row($"r{i}", "missing.png", ("human", "<image>\nWhat?"), ("gpt", "Nothing.")));
            else if (i % 17 == 3) rows.Add(Row($"r{i}", null, ("human", "Question only")));
            else if (i % 19 == 4) rows.Add(Row($"r{i}", MakeImage($"d{i}.png", 8, 8, 1), ("human", "<image> <image> two"), ("gpt", "x")));
            else if (i % 7 == 0) rows.Add(Row($"r{i}", null, ("human", $"Count to {i}"), ("gpt", string.Join(' ', Enumerable.Range(0, i % 9)))));
            else
            {
                string img = MakeImage($"i{i % 23}.png", 8 + i % 23, 6 + i % 5, (byte)(i % 23));
                rows.Add(Row($"r{i}", img, ("human", $"<image>\nDescribe picture {i % 23}."), ("gpt", $"A picture with shade {i % 23} and {i % 23} words.")));
            }
        }
        return rows;
    }

    public string WriteJson(string name, IEnumerable<object> rows)
    {
        string path = Path.Combine(Root, name);
        File.WriteAllText(path, JsonSerializer.Serialize(rows));
        return path;
    }

    public string WriteJsonl(string name, IEnumerable<object> rows, IEnumerable<(int at, byte[] line)>? rawLines = null)
    {
        var lines = rows.Select(r => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(r))).ToList();
        foreach (var (at, line) in rawLines ?? []) lines.Insert(at, line);
        string path = Path.Combine(Root, name);
        using var f = File.Create(path);
        foreach (var l in lines) { f.Write(l); f.WriteByte((byte)'\n'); }
        return path;
    }
}
