using LlavaMod.Models.Runtime;
using LlavaMod.Core;
using LlavaMod.Teacher.Passes;
using LlavaMod.Teacher.Sampling;
using LlavaMod.Evaluation.Answering;
using LlavaMod.Training.Stages;

namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>
/// Every verb that feeds shards to a model refuses shards tokenized with another tokenizer than the
/// model's, and does so before it loads weights: the model copy here has a tokenizer with two ids
/// swapped and no weights at all, so only the tokenizer check can produce the expected message.
/// </summary>
public class TokenizerMismatchTests(DemoWorkspace workspace) : IClassFixture<DemoWorkspace>
{
    string Out(string name) => Path.Combine(workspace.Root, name + "-" + Guid.NewGuid().ToString("N")[..6]);

    /// <summary>The demo teacher's config and a tokenizer.json whose ids of "a" and "b" are swapped; no safetensors.</summary>
    string ModelWithSwappedTokenizer() => workspace.TeacherWithSwappedTokenizer(Out("swapped-tokenizer"), withWeights: false);

    static void AssertRefusedForTokenizer(string data, Action run)
    {
        var e = Assert.Throws<LlavaModException>(run);
        Assert.StartsWith(data + ":", e.Message);
        Assert.Contains("was tokenized with another tokenizer than the", e.Message);
    }

    [Fact]
    public void Train_refuses_shards_of_another_tokenizer_before_loading_weights()
    {
        string model = ModelWithSwappedTokenizer();
        var config = StageConfig.Load(null,
            ["stage=sft", $"model={model}", $"out={Out("train")}", $"data=[\"{workspace.TrainShards}\"]", "max_steps=1", "batch_size=2", "threads=1"]);
        AssertRefusedForTokenizer(workspace.TrainShards, () => StageRunner.Run(config, resume: false, _ => { }));
    }

    [Fact]
    public void Train_refuses_an_online_teacher_of_another_tokenizer()
    {
        string teacher = ModelWithSwappedTokenizer();
        var config = StageConfig.Load(null,
            ["stage=mimic", $"model={workspace.Teacher}", $"online_teacher={teacher}", $"out={Out("mimic")}", $"data=[\"{workspace.TrainShards}\"]",
             "max_steps=1", "batch_size=2", "threads=1"]);
        AssertRefusedForTokenizer(workspace.TrainShards, () => StageRunner.Run(config, resume: false, _ => { }));
    }

    [Fact]
    public void Teacher_sample_refuses_shards_of_another_tokenizer()
    {
        string model = ModelWithSwappedTokenizer();
        AssertRefusedForTokenizer(workspace.MineShards, () =>
            SamplingPass.Run(new SamplingOptions { Model = model, Data = workspace.MineShards, Out = Out("samples"), Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1) }));
    }

    [Fact]
    public void Teacher_cache_logits_refuses_shards_of_another_tokenizer()
    {
        string model = ModelWithSwappedTokenizer();
        AssertRefusedForTokenizer(workspace.TrainShards, () =>
            LogitCachePass.Run(new LogitCachePassOptions { Teacher = model, Data = workspace.TrainShards, Out = Out("cache"), Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1) }));
    }

    [Fact]
    public void Eval_refuses_shards_of_another_tokenizer()
    {
        string model = ModelWithSwappedTokenizer();
        AssertRefusedForTokenizer(workspace.TrainShards, () =>
            AnswerPass.Run(new AnswerOptions { Model = model, Data = workspace.TrainShards, Out = Path.Combine(Out("eval"), "answers.jsonl"), Runtime = new RuntimeOptions(DeviceRequest.Cpu, 1) }));
    }

    [Fact]
    public void The_models_own_tokenizer_passes_the_check()
    {
        // The same call with the unmodified teacher gets past the check (and fails later only for want of weights, which it has).
        var e = Record.Exception(() => LlavaMod.Data.Shards.ShardsBeforeUse.Require([workspace.TrainShards, workspace.MineShards], workspace.Teacher, "teacher"));
        Assert.Null(e);
    }
}
