using System.Globalization;

namespace LlavaMod.Core;

/// <summary>Number and time formats that keep progress lines short enough for an 80-column terminal
/// (shard, eval and teacher passes).</summary>
public static class ProgressText
{
    public const int Width = 80;

    /// <summary>1,234 · 12.3k · 1.23M · 1.23G: at most six characters.</summary>
    public static string Count(long n) => n switch
    {
        < 10_000 => n.ToString("N0", CultureInfo.InvariantCulture),
        < 999_500 => (n / 1e3).ToString(n < 99_950 ? "0.0" : "0", CultureInfo.InvariantCulture) + "k",
        < 999_500_000 => (n / 1e6).ToString(n < 9_995_000 ? "0.00" : n < 99_950_000 ? "0.0" : "0", CultureInfo.InvariantCulture) + "M",
        _ => (n / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + "G",
    };

    /// <summary>"25%" (the invariant culture's P0 writes "25 %").</summary>
    public static string Percent(double fraction) => (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>"12:34" under an hour, "1:02:03" under a day, "3d 04h" beyond; "?" before anything is done.</summary>
    public static string Duration(TimeSpan? t) => t switch
    {
        null => "?",
        { TotalHours: < 1 } d => d.ToString(@"mm\:ss", CultureInfo.InvariantCulture),
        { TotalDays: < 1 } d => $"{(int)d.TotalHours}:{d:mm\\:ss}",
        { } d => $"{(int)d.TotalDays}d {d.Hours:00}h",
    };

    /// <summary>"done/total (pct), rate unit/s, ETA t" from the time spent so far; the rate assumes the rest goes at the same pace.</summary>
    public static string Progress(long done, long total, TimeSpan elapsed, string unit)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        TimeSpan? eta = done <= 0 ? null : TimeSpan.FromSeconds(Math.Round(seconds / done * Math.Max(0, total - done)));
        double fraction = total <= 0 ? 1 : Math.Min(1, (double)done / total);
        return $"{Count(done)}/{Count(total)} {unit} ({Percent(fraction)}), {Count((long)Math.Round(done / seconds))} {unit}/s, ETA {Duration(eta)}";
    }
}
