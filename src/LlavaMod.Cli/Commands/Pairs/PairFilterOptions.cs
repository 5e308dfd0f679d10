using System.CommandLine;
using LlavaMod.Preferences;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary>The filter options shared by <c>pairs list</c>, <c>stats</c> and <c>export</c>.</summary>
public sealed class PairFilterOptions
{
    readonly Option<string?> _run = new("--run") { Description = "Only pairs of this run." };
    readonly Option<double?> _minGap = new("--min-gap") { Description = "Smallest score gap (chosen − rejected)." };
    readonly Option<double?> _maxGap = new("--max-gap") { Description = "Largest score gap." };
    readonly Option<double?> _minSeverity = new("--min-severity") { Description = "Smallest severity (HSA-DPO weight of the rejected response)." };
    readonly Option<int?> _minLength = new("--min-length") { Description = "Shortest pair length (tokens of the longer response)." };
    readonly Option<int?> _maxLength = new("--max-length") { Description = "Longest pair length." };
    readonly Option<string?> _source = new("--source") { Description = "mined or imported." };
    readonly Option<string?> _split = new("--split") { Description = "train or val." };
    readonly Option<string?> _text = new("--text") { Description = "Words that must all occur in the prompt or in one response (full-text search)." };

    public PairFilterOptions()
    {
        _source.AcceptOnlyFromAmong("mined", "imported");
        _split.AcceptOnlyFromAmong("train", "val");
    }

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _run, _minGap, _maxGap, _minSeverity, _minLength, _maxLength, _source, _split, _text })
            command.Options.Add(option);
    }

    public PairQuery Read(ParseResult p) => new()
    {
        Run = p.GetValue(_run),
        MinGap = p.GetValue(_minGap),
        MaxGap = p.GetValue(_maxGap),
        MinSeverity = p.GetValue(_minSeverity),
        MinLength = p.GetValue(_minLength),
        MaxLength = p.GetValue(_maxLength),
        Source = p.GetValue(_source) is { } source ? PairStore.ParseSource(source) : null,
        Split = p.GetValue(_split) is { } split ? PairStore.ParseSplit(split) : null,
        Text = p.GetValue(_text),
    };
}
