namespace LlavaMod.Training.Metrics;

/// <summary>PNG plots of a metrics log (ScottPlot): one panel per metric group.</summary>
public static class MetricsPlots
{
    /// <summary>Plots the named metrics against step into <paramref name="pngPath"/>; missing metrics are skipped. Returns the metrics plotted.</summary>
    public static IReadOnlyList<string> Plot(IReadOnlyList<MetricsLog.Row> rows, IEnumerable<string> metrics, string title, string pngPath, string yLabel = "")
    {
        var plot = new ScottPlot.Plot();
        var drawn = new List<string>();
        foreach (var metric in metrics)
        {
            var points = rows.Where(r => r.Values.ContainsKey(metric)).ToArray();
            if (points.Length == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Values[metric]).ToArray());
            line.LegendText = metric;
            line.MarkerSize = points.Length > 50 ? 0 : 4;
            drawn.Add(metric);
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        if (drawn.Count > 1) plot.ShowLegend();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pngPath))!);
        plot.SavePng(pngPath, 900, 500);
        return drawn;
    }
}
