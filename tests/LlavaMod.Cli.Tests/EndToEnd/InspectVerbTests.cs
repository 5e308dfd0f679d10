using System.Text.Json;
using SixLabors.ImageSharp;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>
/// <c>llavamod inspect</c> on the demo workspace's shards, checked against the source conversations the shards were
/// made from (row count, ids, question and answer text, image size). Only content is asserted, not table layout.
/// </summary>
[Collection(DemoWorkspaceCollection.Name)]
public class InspectVerbTests(DemoWorkspace workspace)
{
    sealed record Conversation(string Id, string Image, string Question, string Answer);

    List<Conversation> Source()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(workspace.Raw, "train", "conversations.json")));
        return doc.RootElement.EnumerateArray().Select(e =>
        {
            var turns = e.GetProperty("conversations").EnumerateArray().Select(t => t.GetProperty("value").GetString()!).ToArray();
            return new Conversation(e.GetProperty("id").GetString()!, e.GetProperty("image").GetString()!, turns[0].Replace("<image>\n", ""), turns[1]);
        }).ToList();
    }

    static string OneLine(string text) => string.Join(' ', text.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public void The_summary_counts_the_source_rows_and_the_first_rows_show_their_ids_questions_and_image_sizes()
    {
        var source = Source();
        string output = LlavamodProcess.Succeeds(workspace.Root, "inspect", workspace.TrainShards, "--rows", "2");
        var rowsLine = output.Split('\n').Single(l => l.Contains("rows written"));
        Assert.Contains(source.Count.ToString(), rowsLine);
        var size = Image.Identify(Path.Combine(workspace.Raw, "train", source[0].Image));
        foreach (var row in source.Take(2))
        {
            Assert.Contains($"id={row.Id}", output);
            Assert.Contains(row.Question, output);
        }
        Assert.Contains($"{size.Width}x{size.Height}", output);
        Assert.DoesNotContain($"id={source[2].Id} ", output); // --rows 2
    }

    [Fact]
    public void One_row_in_full_shows_its_question_its_answer_and_the_rendered_template()
    {
        var source = Source();
        int index = source.FindIndex(c => c.Answer.Length > 20); // a description, long enough to be cut in the overview
        string key = index.ToString("D9");
        string output = OneLine(LlavamodProcess.Succeeds(workspace.Root, "inspect", workspace.TrainShards, "--row", key));
        Assert.Contains($"{key} id={source[index].Id}", output);
        Assert.Contains(OneLine(source[index].Question), output);
        Assert.Contains(OneLine(source[index].Answer), output);
        Assert.Contains($"ASSISTANT: {OneLine(source[index].Answer)}", output); // the qwen template as rendered for training
    }

    [Fact]
    public void An_unknown_row_key_is_a_one_line_error()
    {
        var result = LlavamodProcess.Run(workspace.Root, "inspect", workspace.TrainShards, "--row", "999999999");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr);
        Assert.Contains(workspace.TrainShards, result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }
}
