using LlavaMod.Teacher.Scoring;

namespace LlavaMod.Training.Tests.Scoring;

public class ReferenceScorerTests
{
    static readonly ObjectVocabulary Shapes = ObjectVocabulary.FromAttributeNounPairs(
        new Dictionary<string, IReadOnlyList<string>> { ["red"] = [], ["blue"] = [], ["green"] = [] },
        new Dictionary<string, IReadOnlyList<string>> { ["circle"] = ["ball"], ["square"] = ["box"], ["star"] = [] });

    [Fact]
    public void Hallucinated_and_missed_objects_are_counted_with_their_positions()
    {
        var image = new HashSet<string> { "red circle", "blue square" };
        string text = "There is a red circle, a green star and two green stars.";
        var score = ReferenceScorer.ScoreDescription(text, image, Shapes);
        Assert.Equal(2, score.Mentioned);        // red circle, green star (counted once)
        Assert.Equal(1, score.Hallucinated);     // green star
        Assert.Equal(1, score.Missed);           // blue square
        Assert.Equal(-3, score.Score);
        Assert.Equal(1, score.Severity);
        Assert.Equal(["green star", "green stars"], score.HallucinatedMentions.Select(m => text.Substring(m.Start, m.Length)));
    }

    [Fact]
    public void Synonyms_plurals_and_negations()
    {
        var image = new HashSet<string> { "red circle" };
        var score = ReferenceScorer.ScoreDescription("A red ball. There is no blue box.", image, Shapes);
        Assert.Equal(1, score.Mentioned);
        Assert.Equal(0, score.Hallucinated);
        Assert.Equal(0, score.Missed);
    }

    [Theory]
    [InlineData("Two.", "2", true)]
    [InlineData("the red one", "red one", true)]
    [InlineData("Top left", "top left.", true)]
    [InlineData("top right", "top left", false)]
    public void Short_answers_match_after_normalisation(string response, string reference, bool expected)
    {
        Assert.Equal(expected, ReferenceScorer.ScoreShortAnswer(response, reference).ExactMatch);
    }

    [Theory]
    [InlineData("Yes, there is.", true)]
    [InlineData("no", false)]
    [InlineData("Maybe", null)]
    [InlineData("", null)]
    public void Yes_no_answers_are_parsed(string answer, bool? expected) => Assert.Equal(expected, ReferenceScorer.ParseYesNo(answer));
}
