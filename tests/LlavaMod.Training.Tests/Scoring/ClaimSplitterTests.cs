using LlavaMod.Teacher.Scoring;

namespace LlavaMod.Training.Tests.Scoring;

public class ClaimSplitterTests
{
    [Theory]
    [InlineData("There is a red circle, a blue square and a green triangle.",
        new[] { "There is a red circle", "There is a blue square", "There is a green triangle" })]
    [InlineData("The image shows a cat and a dog. The cat is black!",
        new[] { "The image shows a cat", "The image shows a dog", "The cat is black" })]
    [InlineData("There is a red and blue circle.", new[] { "There is a red and blue circle" })]
    [InlineData("It is sunny, and there are two trees.", new[] { "It is sunny", "there are two trees" })]
    [InlineData("There is a circle.\nthere is a circle", new[] { "There is a circle" })]
    [InlineData("A dog sits on the grass, it looks happy", new[] { "A dog sits on the grass", "it looks happy" })]
    [InlineData("A dog sits on the grass, a cat sleeps", new[] { "A dog sits on the grass", "a cat sleeps" })]
    [InlineData("There is a circle, the square is blue", new[] { "There is a circle", "the square is blue" })]
    [InlineData("It is. There is.", new string[0])]
    [InlineData("", new string[0])]
    public void Splits_sentences_and_joined_mentions_into_claims(string response, string[] expected) =>
        Assert.Equal(expected, ClaimSplitter.Split(response));

    [Fact]
    public void Content_words_leave_out_function_words()
    {
        Assert.Equal(["blue", "square"], ClaimSplitter.ContentWords("There is a blue square"));
        Assert.Equal(["two", "trees", "left"], ClaimSplitter.ContentWords("There are two trees on the left"));
    }
}
