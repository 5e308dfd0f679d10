namespace LlavaMod.Demo.Evaluation;

/// <summary>A proportion with its standard error sqrt(p(1−p)/n).</summary>
public sealed record Rate(double Value, double StandardError, int Count)
{
    public static Rate Of(int hits, int n) => n == 0 ? new Rate(double.NaN, double.NaN, 0)
        : new Rate((double)hits / n, Math.Sqrt((double)hits / n * (1 - (double)hits / n) / n), n);

    public override string ToString() => Count == 0 ? "–" : $"{Value:F3} ± {StandardError:F3}";
}

/// <summary>One answer with its score (a line of the demo result's side file).
/// <see cref="NamedAbsentPartner"/>: for a description of a scene with a bias trigger but not its partner, whether it names that partner (else null).</summary>
public sealed record ScoredAnswer(string Id, string Kind, string Reference, string Answer, bool? Correct, int Mentioned, int Hallucinated, int Missed, bool? NamedAbsentPartner = null);

/// <summary>
/// The demo's metrics, as the paper's table reports them: short-answer accuracy (colour, count,
/// position: exact match after normalisation), POPE-style yes/no accuracy and F1 ("yes" is the
/// positive class), and CHAIR on "describe" answers: CHAIR_s = share of descriptions naming at
/// least one absent object, CHAIR_i = share of named objects that are absent. Also the recall of
/// objects in descriptions, so a model cannot win CHAIR by saying nothing.
/// </summary>
public sealed record EvaluationResult(
    int Questions,
    Rate ShortAnswerAccuracy,
    Rate YesNoAccuracy,
    double YesNoF1,
    Rate ChairS,
    Rate ChairI,
    Rate ObjectRecall)
{
    /// <summary>Among descriptions of scenes showing a bias trigger without its partner, the share naming
    /// the absent partner: the hallucination the training split's co-occurrence teaches.</summary>
    public Rate? PartnerHallucination { get; init; }
}
