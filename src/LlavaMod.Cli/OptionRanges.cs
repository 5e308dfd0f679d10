using System.CommandLine;

namespace LlavaMod.Cli;

/// <summary>Range checks on numeric options, reported by the parser before the command runs (so
/// before any model loads), as "--k must be ≥ 1 (got 0)".</summary>
public static class OptionRanges
{
    public static Option<int> AtLeast(this Option<int> option, int min)
    {
        option.Validators.Add(r =>
        {
            int v = r.GetValueOrDefault<int>();
            if (v < min) r.AddError($"{option.Name} must be ≥ {min} (got {v})");
        });
        return option;
    }

    public static Option<double> Within(this Option<double> option, double min, double max, bool minInclusive = true)
    {
        option.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (!(minInclusive ? v >= min : v > min) || !(v <= max) || double.IsNaN(v))
                r.AddError($"{option.Name} must be in {(minInclusive ? "[" : "(")}{min}, {max}] (got {v})");
        });
        return option;
    }
}
