using System.Text;
using System.Text.RegularExpressions;

namespace LlavaMod.Training.Optimization;

/// <summary>
/// Parameter-name patterns on Hugging Face names (e.g. <c>model.layers.*.mlp.deepspeed_moe.*</c>,
/// <c>model.mm_projector.*</c>). A pattern is a glob matched against the whole name, like Python's
/// fnmatch: <c>*</c> matches any run of characters including dots, <c>?</c> one character, everything
/// else literally. A pattern starting with <c>re:</c> is a .NET regular expression that must match
/// the whole name.
/// </summary>
public sealed class ParameterPatterns
{
    readonly (string Source, Regex Regex)[] _patterns;

    public ParameterPatterns(IEnumerable<string> patterns)
    {
        _patterns = patterns.Select(p => (p, Compile(p))).ToArray();
        if (_patterns.Length == 0) throw new ArgumentException("at least one pattern is needed", nameof(patterns));
    }

    public IReadOnlyList<string> Sources => _patterns.Select(p => p.Source).ToArray();

    public bool Matches(string name) => _patterns.Any(p => p.Regex.IsMatch(name));

    /// <summary>The patterns that match none of <paramref name="names"/> (usually typos).</summary>
    public IReadOnlyList<string> Unmatched(IReadOnlyCollection<string> names) =>
        _patterns.Where(p => !names.Any(p.Regex.IsMatch)).Select(p => p.Source).ToArray();

    static Regex Compile(string pattern)
    {
        if (pattern.StartsWith("re:", StringComparison.Ordinal))
            return new Regex("^(?:" + pattern[3..] + ")$", RegexOptions.CultureInvariant);
        var sb = new StringBuilder("^");
        foreach (char c in pattern)
            sb.Append(c switch { '*' => ".*", '?' => ".", _ => Regex.Escape(c.ToString()) });
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
