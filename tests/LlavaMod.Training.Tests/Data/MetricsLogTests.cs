using LlavaMod.Training.Metrics;

namespace LlavaMod.Training.Tests.Data;

public class MetricsLogTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Resume_drops_lines_after_the_checkpoint_step_and_a_torn_line_is_ignored()
    {
        string path = Path.Combine(_dir, "metrics.jsonl");
        using (var log = new MetricsLog(path))
            for (int step = 1; step <= 5; step++)
                log.Write(step, new Dictionary<string, double> { ["loss"] = 1.0 / step });
        File.AppendAllText(path, "{\"step\": 6, \"lo");
        Assert.Equal(5, MetricsLog.Read(path).Count());

        using (var log = new MetricsLog(path, resumeAfterStep: 3))
            log.Write(4, new Dictionary<string, double> { ["loss"] = 0.2 });
        var rows = MetricsLog.Read(path).ToList();
        Assert.Equal(new long[] { 1, 2, 3, 4 }, rows.Select(r => r.Step));
        Assert.Equal(0.2, rows[^1].Values["loss"]);
    }

    [Fact]
    public void Plot_writes_a_png_with_the_metrics_present()
    {
        string path = Path.Combine(_dir, "m.jsonl");
        using (var log = new MetricsLog(path))
            for (int step = 1; step <= 20; step++)
                log.Write(step, new Dictionary<string, double> { ["loss"] = 1.0 / step, ["lr"] = 1e-3 });
        string png = Path.Combine(_dir, "loss.png");
        var drawn = MetricsPlots.Plot(MetricsLog.Read(path).ToList(), ["loss", "absent"], "loss", png);
        Assert.Equal(["loss"], drawn);
        var header = File.ReadAllBytes(png).Take(8).ToArray();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, header);
    }
}
