using System.Text.RegularExpressions;

namespace LlavaMod.Evaluation.Scoring;

/// <summary>
/// The answer normalisation of the official VQA evaluator (vqaEval.py, Agrawal et al.), step for
/// step: punctuation (<see cref="Punctuation"/>), then lower case, number words to digits, articles
/// dropped and contractions restored (<see cref="DigitsAndArticles"/>). Quirks kept on purpose, so
/// scores match the official ones: a period is dropped wherever no digit follows it, at most 32
/// times (the evaluator passes re.UNICODE as re.sub's count); the capitalised contraction keys
/// ("Im", "Ive") never match because the text is lower-cased first.
/// </summary>
public static partial class VqaAnswerNormaliser
{
    static readonly string[] PunctuationMarks = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"];

    static readonly Dictionary<string, string> NumberWords = new()
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4",
        ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    static readonly HashSet<string> Articles = ["a", "an", "the"];

    static readonly Dictionary<string, string> Contractions = new()
    {
        ["aint"] = "ain't", ["arent"] = "aren't", ["cant"] = "can't", ["couldve"] = "could've", ["couldnt"] = "couldn't",
        ["couldn'tve"] = "couldn't've", ["couldnt've"] = "couldn't've", ["didnt"] = "didn't", ["doesnt"] = "doesn't", ["dont"] = "don't",
        ["hadnt"] = "hadn't", ["hadnt've"] = "hadn't've", ["hadn'tve"] = "hadn't've", ["hasnt"] = "hasn't", ["havent"] = "haven't",
        ["hed"] = "he'd", ["hed've"] = "he'd've", ["he'dve"] = "he'd've", ["hes"] = "he's", ["howd"] = "how'd", ["howll"] = "how'll",
        ["hows"] = "how's", ["Id've"] = "I'd've", ["I'dve"] = "I'd've", ["Im"] = "I'm", ["Ive"] = "I've", ["isnt"] = "isn't",
        ["itd"] = "it'd", ["itd've"] = "it'd've", ["it'dve"] = "it'd've", ["itll"] = "it'll", ["let's"] = "let's", ["maam"] = "ma'am",
        ["mightnt"] = "mightn't", ["mightnt've"] = "mightn't've", ["mightn'tve"] = "mightn't've", ["mightve"] = "might've",
        ["mustnt"] = "mustn't", ["mustve"] = "must've", ["neednt"] = "needn't", ["notve"] = "not've", ["oclock"] = "o'clock",
        ["oughtnt"] = "oughtn't", ["ow's'at"] = "'ow's'at", ["'ows'at"] = "'ow's'at", ["'ow'sat"] = "'ow's'at", ["shant"] = "shan't",
        ["shed've"] = "she'd've", ["she'dve"] = "she'd've", ["she's"] = "she's", ["shouldve"] = "should've", ["shouldnt"] = "shouldn't",
        ["shouldnt've"] = "shouldn't've", ["shouldn'tve"] = "shouldn't've", ["somebody'd"] = "somebodyd", ["somebodyd've"] = "somebody'd've",
        ["somebody'dve"] = "somebody'd've", ["somebodyll"] = "somebody'll", ["somebodys"] = "somebody's", ["someoned"] = "someone'd",
        ["someoned've"] = "someone'd've", ["someone'dve"] = "someone'd've", ["someonell"] = "someone'll", ["someones"] = "someone's",
        ["somethingd"] = "something'd", ["somethingd've"] = "something'd've", ["something'dve"] = "something'd've", ["somethingll"] = "something'll",
        ["thats"] = "that's", ["thered"] = "there'd", ["thered've"] = "there'd've", ["there'dve"] = "there'd've", ["therere"] = "there're",
        ["theres"] = "there's", ["theyd"] = "they'd", ["theyd've"] = "they'd've", ["they'dve"] = "they'd've", ["theyll"] = "they'll",
        ["theyre"] = "they're", ["theyve"] = "they've", ["twas"] = "'twas", ["wasnt"] = "wasn't", ["wed've"] = "we'd've",
        ["we'dve"] = "we'd've", ["weve"] = "we've", ["werent"] = "weren't", ["whatll"] = "what'll", ["whatre"] = "what're",
        ["whats"] = "what's", ["whatve"] = "what've", ["whens"] = "when's", ["whered"] = "where'd", ["wheres"] = "where's",
        ["whereve"] = "where've", ["whod"] = "who'd", ["whod've"] = "who'd've", ["who'dve"] = "who'd've", ["wholl"] = "who'll",
        ["whos"] = "who's", ["whove"] = "who've", ["whyll"] = "why'll", ["whyre"] = "why're", ["whys"] = "why's", ["wont"] = "won't",
        ["wouldve"] = "would've", ["wouldnt"] = "wouldn't", ["wouldnt've"] = "wouldn't've", ["wouldn'tve"] = "wouldn't've",
        ["yall"] = "y'all", ["yall'll"] = "y'all'll", ["y'allll"] = "y'all'll", ["yall'd've"] = "y'all'd've", ["y'alld've"] = "y'all'd've",
        ["y'all'dve"] = "y'all'd've", ["youd"] = "you'd", ["youd've"] = "you'd've", ["you'dve"] = "you'd've", ["youll"] = "you'll",
        ["youre"] = "you're", ["youve"] = "you've",
    };

    /// <summary>The evaluator's first cleaning of every answer: newlines and tabs to spaces, trimmed.</summary>
    public static string Clean(string answer) => answer.Replace('\n', ' ').Replace('\t', ' ').Trim();

    /// <summary>processPunctuation: each mark is deleted when it touches a space (or the text has a digit,digit
    /// comma), else replaced by a space; then every period not followed by a digit is deleted (32 at most).</summary>
    public static string Punctuation(string text)
    {
        bool digitComma = DigitComma().IsMatch(text);
        string output = text;
        foreach (var p in PunctuationMarks)
            output = text.Contains(p + " ") || text.Contains(" " + p) || digitComma ? output.Replace(p, "") : output.Replace(p, " ");
        int removed = 0;
        return StrayPeriod().Replace(output, _ => removed++ < 32 ? "" : ".");
    }

    /// <summary>processDigitArticle: lower case, split on whitespace, number words to digits, articles dropped, contractions restored.</summary>
    public static string DigitsAndArticles(string text)
    {
        var words = text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(w => NumberWords.GetValueOrDefault(w, w)).Where(w => !Articles.Contains(w))
            .Select(w => Contractions.GetValueOrDefault(w, w));
        return string.Join(' ', words);
    }

    /// <summary>A model answer as the evaluator compares it.</summary>
    public static string Answer(string answer) => DigitsAndArticles(Punctuation(Clean(answer)));

    [GeneratedRegex(@"(\d)(,)(\d)")]
    private static partial Regex DigitComma();

    [GeneratedRegex(@"\.(?!\d)")]
    private static partial Regex StrayPeriod();
}
