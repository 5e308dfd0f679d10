using LlavaMod.Preferences;

namespace LlavaMod.Inspector.Tests;

/// <summary>A prompt stored rendered (indexes mined before prompts were stored as questions) shows as its question.</summary>
public sealed class QuestionDisplayTests
{
    const string Rendered = "A chat between a curious user and an artificial intelligence assistant. USER: <image>\nWhat colour is the bus? ASSISTANT:";

    [Fact]
    public void List_and_detail_pages_show_the_user_question_not_the_template()
    {
        var row = new PairRow(1, "run", "train", "mined", 0, -1, 1, 1, 3, 2, 3, -1, -2, "a.jpg", Rendered, "Red.", "Red with wings.");
        string list = ListPage.Render(new PairQuery(), [row], 1, ["run"]);
        Assert.Contains("What colour is the bus?", list);
        Assert.DoesNotContain("USER:", list);

        var detail = new PairDetail(1, "run", "train", "mined", "k", Rendered, null, "a.jpg", null,
            new ResponseDetail(1, "Red.", 2, 0, null, -1), new ResponseDetail(2, "Red with wings.", 3, -1, null, -2), 1, 1, -1, 2, -2, 3);
        string html = DetailPage.Render(detail, imageAvailable: false);
        Assert.Contains("What colour is the bus?", html);
        Assert.DoesNotContain("ASSISTANT:", html);
    }
}
