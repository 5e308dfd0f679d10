using System.CommandLine;
using LlavaMod.Models;
using TorchSharp;

namespace LlavaMod.Cli.Tests.Commands;

[Collection("Console")]
public class ModelCommandTests : IDisposable
{
    readonly string _temp = Directory.CreateTempSubdirectory("llavamod-cli-model-").FullName;
    public void Dispose() => Directory.Delete(_temp, recursive: true);

    static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var root = new RootCommand("test");
        foreach (var c in CommandCatalog.All()) root.Subcommands.Add(c);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout); Console.SetError(stderr);
        try { return (await CliRunner.RunAsync(root, args), stdout.ToString(), stderr.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    [Fact]
    public async Task Info_of_a_real_preset_needs_no_weights()
    {
        var (code, output, _) = await Run("model", "info", "--preset", "qwen2-1.5b-clip-l336");
        Assert.Equal(0, code);
        Assert.Contains("1,543,714,304", output); // Qwen2-1.5B language parameters
        Assert.Contains("weights bf16", output);
    }

    [Fact]
    public async Task Init_writes_a_folder_that_loads_and_info_reads_it()
    {
        string folder = Path.Combine(_temp, "student");
        var (code, _, err) = await Run("model", "init", "--preset", "demo-student", "--out", folder, "--seed", "4", "--dtype", "bf16");
        Assert.True(code == 0, err);
        using (var model = Checkpoint.Load(folder))
        {
            Assert.Equal(96, model.Config.Text.HiddenSize);
            Assert.Equal(torch.ScalarType.Float32, model.LanguageModel.HeadWeight.dtype);
        }
        var (infoCode, output, _) = await Run("model", "info", folder);
        Assert.Equal(0, infoCode);
        Assert.Contains("LLaVA (llava_qwen2)", output);
    }

    [Fact]
    public async Task Unknown_preset_is_a_clear_error()
    {
        var (code, _, err) = await Run("model", "info", "--preset", "nope");
        Assert.Equal(1, code);
        Assert.Contains("error: unknown preset 'nope'", err);
    }
}
