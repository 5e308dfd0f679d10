using LlavaMod.Demo.Corpus;

namespace LlavaMod.Demo.Tests.Corpus;

public class DemoVocabularyTests
{
    [Fact]
    public void SynonymTablesCoverEveryColourAndShape()
    {
        Assert.Equal(DemoVocabulary.Colors.Select(c => c.Name).Order(), DemoVocabulary.ColorSynonyms.Keys.Order());
        Assert.Equal(DemoVocabulary.Shapes.Order(), DemoVocabulary.ShapeSynonyms.Keys.Order());
    }

    [Fact]
    public void DescriptionsListObjectsWithCommasAndAnd()
    {
        Assert.Equal("There is a red circle.", DemoQuestions.Describe([new("red", "circle")]));
        Assert.Equal("There is a red circle and a blue square.", DemoQuestions.Describe([new("red", "circle"), new("blue", "square")]));
        Assert.Equal("There is a red circle, a blue square and a green star.",
            DemoQuestions.Describe([new("red", "circle"), new("blue", "square"), new("green", "star")]));
    }

    [Fact]
    public void BiasPartnersAreNeverTriggersAndKindsAreDistinct()
    {
        var triggers = DemoVocabulary.BiasPairs.Select(p => p.Trigger).ToHashSet();
        Assert.DoesNotContain(DemoVocabulary.BiasPairs, p => triggers.Contains(p.Partner));
        var kinds = DemoVocabulary.BiasPairs.SelectMany(p => new[] { p.Trigger, p.Partner }).ToList();
        Assert.Equal(kinds.Count, kinds.Distinct().Count());
        Assert.Equal(36, DemoVocabulary.AllObjectKinds.Distinct().Count());
    }

    [Fact]
    public void CorpusWordsCoverEveryAnswerWord()
    {
        var words = DemoVocabulary.CorpusWords().ToHashSet();
        foreach (var w in new[] { "There", "is", "a", "and", "Yes", "No", "Describe", "image", "Where", "color", "many", "center", "middle", "4" })
            Assert.Contains(w, words);
        Assert.DoesNotContain("0", words);
        Assert.Equal(9, Enumerable.Range(0, 9).Select(i => DemoVocabulary.PositionName(i / 3, i % 3)).Distinct().Count());
    }
}
