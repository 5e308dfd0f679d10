using System.CommandLine;

namespace LlavaMod.Cli.Tests.Commands;

/// <summary>The root's --help lists each command by the first paragraph of its description; a command's own --help
/// gives all of it (train's examples and config key table).</summary>
public class HelpTests
{
    static async Task<string> Help(params string[] args)
    {
        var output = new StringWriter();
        int code = await CommandCatalog.CreateRoot().Parse([.. args, "--help"]).InvokeAsync(new InvocationConfiguration { Output = output, EnableDefaultExceptionHandler = false });
        Assert.Equal(0, code);
        return output.ToString();
    }

    [Fact]
    public async Task The_command_list_shows_summaries_and_each_command_its_whole_description()
    {
        string root = await Help();
        foreach (var command in CommandCatalog.All()) Assert.Contains(command.Name, root);
        Assert.Contains("Train one stage of LLaVA-MoD", root);
        Assert.DoesNotContain("Config keys", root);
        Assert.DoesNotContain("loss.beta = 0.1", root);
        Assert.DoesNotContain("Examples:", root);
        Assert.True(root.Split('\n').Length < 70, $"the root help runs to {root.Split('\n').Length} lines:\n{root}");

        if (Console.IsOutputRedirected) // as under the test host: piped help wraps at 80 columns
            Assert.All(root.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 80, $"{line.Length} columns: {line}"));

        string train = await Help("train");
        Assert.Contains("Config keys (JSON; nested as loss.beta) and defaults:", train);
        Assert.Contains("loss.beta = 0.1", train);
        Assert.Contains("llavamod train --config pd.json", train);

        string teacher = await Help("teacher");
        Assert.DoesNotContain("Examples:", teacher); // its subcommands' examples stay in their own help
        Assert.Contains("Examples:", await Help("teacher", "cache-logits"));
    }

    [Theory]
    [InlineData("one line", "one line")]
    [InlineData("Summary.\n\nExamples:\n  x", "Summary.")]
    [InlineData("", "")]
    public void A_summary_is_the_first_paragraph(string description, string summary) =>
        Assert.Equal(summary, CommandCatalog.Summary(description));
}
