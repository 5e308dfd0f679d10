using LlavaMod.Preferences;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary>Histogram PNGs of <c>pairs stats --plot</c> (ScottPlot).</summary>
public static class PairPlots
{
    public static IReadOnlyList<string> Write(PairStatistics stats, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        foreach (var h in stats.Histograms.Where(h => h.Count > 0))
        {
            var plot = new ScottPlot.Plot();
            double width = h.BinWidth > 0 ? h.BinWidth : 1;
            var positions = Enumerable.Range(0, h.Counts.Length).Select(i => h.BinLower(i) + width / 2).ToArray();
            var bars = plot.Add.Bars(positions, h.Counts.Select(c => (double)c).ToArray());
            foreach (var bar in bars.Bars) bar.Size = width;
            plot.Title($"{h.Name} ({h.Count:N0} pairs)");
            plot.XLabel(h.Name);
            plot.YLabel("pairs");
            string file = Path.Combine(folder, $"{h.Name}.png");
            plot.SavePng(file, 800, 500);
            files.Add(file);
        }
        return files;
    }
}
