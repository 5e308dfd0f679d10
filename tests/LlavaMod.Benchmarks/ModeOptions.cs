using System.Globalization;

namespace LlavaMod.Benchmarks;

/// <summary>
/// The options of a benchmark mode (`lm`, `stage`, `answer`): `--name value` pairs and bare flags, read in order.
/// Each mode keeps its own switch from option name to its settings record; this reads the values.
/// </summary>
/// <param name="args">The mode's arguments (after the mode name).</param>
/// <param name="settingsSource">Where the mode's settings are documented, for the unknown-option error.</param>
sealed class ModeOptions(string[] args, string settingsSource)
{
    int _at = -1;

    /// <summary>Each option name in turn; read its value with <see cref="Value"/>, <see cref="Int"/> or <see cref="Double"/>.</summary>
    public IEnumerable<string> Names()
    {
        for (_at = 0; _at < args.Length; _at++) yield return args[_at];
    }

    public string Value() => _at + 1 < args.Length ? args[++_at] : throw new ArgumentException($"{args[_at]} needs a value");

    public int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);

    public double Double() => double.Parse(Value(), CultureInfo.InvariantCulture);

    public ArgumentException Unknown(string name) => new($"unknown option {name} (see Settings in {settingsSource})");
}
