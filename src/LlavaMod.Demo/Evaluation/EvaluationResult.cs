namespace LlavaMod.Demo.Evaluation;

/// <summary>A proportion with its standard error sqrt(p(1−p)/n).</summary>
public sealed record Rate(double Value, double StandardError, int Count)
{
    public static Rate Of(int hits, int n) => n == 0 ? new Rate(double.NaN, double.NaN, 0)
        : new Rate((double)hits / n, Math.Sqrt((double)hits / n * (1 - (double)hits / n) / n), n);

    public override string ToString() => Count == 0 ? "–" : $"{Value:F3} ± {StandardError:F3}";
}

/// <summary>
/// Evaluation of one model on held-out questions, as the paper's table reports it:
/// short-answer accuracy (colour, count, position: exact match after normalisation), POPE-style
/// yes/no accuracy and F1 ("yes" is the positive class), and CHAIR on "describe" answers:
/// CHAIR_s = share of descriptions naming at least one absent object, CHAIR_i = share of named
/// objects that are absent. Also the recall of objects in descriptions, so a model cannot win
/// CHAIR by saying nothing.
/// </summary>
public sealed record EvaluationResult(
    string Model,
    int Questions,
    Rate ShortAnswerAccuracy,
    Rate YesNoAccuracy,
    double YesNoF1,
    Rate ChairS,
    Rate ChairI,
    Rate ObjectRecall,
    long ActiveLanguageParameters,
    double Seconds)
{
    /// <summary>Among descriptions of scenes showing a bias trigger without its partner, the share naming
    /// the absent partner: the hallucination the training split's co-occurrence teaches (demo only).</summary>
    public Rate? PartnerHallucination { get; init; }
}
