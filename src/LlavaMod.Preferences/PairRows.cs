namespace LlavaMod.Preferences;

/// <summary>One line of <c>pairs list</c>: scores, gap, severity, lengths and the texts.</summary>
public sealed record PairRow(
    long Id,
    string Run,
    string Split,
    string Source,
    double? ChosenScore,
    double? RejectedScore,
    double? Gap,
    double Severity,
    long? Length,
    long? ChosenTokens,
    long? RejectedTokens,
    double? RefChosenLogp,
    double? RefRejectedLogp,
    string? ImagePath,
    string PromptText,
    string ChosenText,
    string RejectedText);

/// <summary>One response of a pair, in full.</summary>
public sealed record ResponseDetail(long Id, string Text, long? TokenCount, double? Score, string? ClaimsJson, double? SamplerLogp);

/// <summary>Everything about one pair (<c>pairs show</c>).</summary>
public sealed record PairDetail(
    long Id,
    string Run,
    string Split,
    string Source,
    string PromptKey,
    string PromptText,
    string? ImageKey,
    string? ImagePath,
    string? PromptMetaJson,
    ResponseDetail Chosen,
    ResponseDetail Rejected,
    double? Gap,
    double Severity,
    double? RefChosenLogp,
    long? RefChosenTokens,
    double? RefRejectedLogp,
    long? RefRejectedTokens);
