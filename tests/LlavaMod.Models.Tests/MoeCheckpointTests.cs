using LlavaMod.Models.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

/// <summary>
/// MoE checkpoints through the <see cref="FeedForwardFactory"/> hook, with a stand-in module that
/// has DeepSpeed's tensor names (the real MoE layer lives elsewhere): the folder must save and
/// load with model_type moe_llava_qwen2 and names mlp.deepspeed_moe.….
/// </summary>
public class MoeCheckpointTests : IDisposable
{
    readonly string _temp = Directory.CreateTempSubdirectory("llavamod-moe-").FullName;
    public void Dispose() => Directory.Delete(_temp, recursive: true);

    sealed class StandInMoe : nn.Module<Tensor, Tensor>
    {
        readonly Gate gate;
        readonly Experts experts;
        public StandInMoe(Qwen2Config c) : base("deepspeed_moe")
        {
            gate = new Gate(c); experts = new Experts(c);
            register_module("gate", gate);
            register_module("experts", experts);
        }
        public override Tensor forward(Tensor x) => experts.First.forward(x); // not a real router

        sealed class Gate : nn.Module
        {
            readonly Linear wg;
            public Gate(Qwen2Config c) : base("gate") { wg = nn.Linear(c.HiddenSize, c.Moe!.NumExperts, hasBias: false); register_module("wg", wg); }
        }

        sealed class Experts : nn.Module
        {
            readonly ModuleList<Qwen2Mlp> deepspeed_experts = new();
            public Experts(Qwen2Config c) : base("experts")
            {
                for (int e = 0; e < c.Moe!.NumExperts; e++) deepspeed_experts.Add(new Qwen2Mlp(c.HiddenSize, c.IntermediateSize));
                register_module("deepspeed_experts", deepspeed_experts);
            }
            public Qwen2Mlp First => deepspeed_experts[0];
        }
    }

    sealed class Wrapper : nn.Module<Tensor, Tensor>
    {
        readonly StandInMoe deepspeed_moe;
        public Wrapper(Qwen2Config c) : base("mlp") { deepspeed_moe = new StandInMoe(c); register_module("deepspeed_moe", deepspeed_moe); }
        public override Tensor forward(Tensor x) => deepspeed_moe.forward(x);
    }

    [Fact]
    public void Moe_model_saves_with_deepspeed_names_and_reloads()
    {
        LlavaMod.Models.Runtime.TorchRuntime.EnsureLoaded();
        var preset = ModelPresets.Get("demo-student");
        var config = preset with { Text = preset.Text with { Moe = new MoeConfig { NumExperts = 3, TopK = 2 } } };
        FeedForwardFactory factory = (c, _) => new Wrapper(c);
        using var model = new LlavaModel(config, factory);
        Initialization.Apply(model, 0.02);
        string folder = Path.Combine(_temp, "moe");
        Checkpoint.Save(model, folder);
        var names = SafeTensorsFolder.Open(folder).Names;
        Assert.Contains("model.layers.0.mlp.deepspeed_moe.gate.wg.weight", names);
        Assert.Contains("model.layers.0.mlp.deepspeed_moe.experts.deepspeed_experts.2.down_proj.weight", names);
        Assert.Contains("model.layers.1.mlp.gate_proj.weight", names); // every other layer stays dense
        Assert.Contains("\"moe_llava_qwen2\"", File.ReadAllText(Path.Combine(folder, "config.json")));
        model.SetMoeConfig(null);
        Assert.Null(model.LanguageModel.Config.Moe);
        Assert.Null(model.Config.Text.Moe);

        // Without a factory argument, the MoE layer that LlavaMod.Models.Moe registers in
        // FeedForwardFactories.Moe builds the MoE layers and takes the stand-in's tensors by name.
        using var registered = Checkpoint.Load(folder, moeFactory: null);
        Assert.IsType<LlavaMod.Models.Moe.MoeLayer>(registered.LanguageModel.Model.Layers[0].FeedForward);

        using var reloaded = Checkpoint.Load(folder, moeFactory: factory);
        Assert.Equal(3, reloaded.Config.Text.Moe!.NumExperts);
        using var ids = torch.tensor(new long[] { 5, 6, 7 }).view(1, 3);
        using var _ = torch.no_grad();
        using var a = model.LanguageModel.Forward(ids);
        using var b = reloaded.LanguageModel.Forward(ids);
        Assert.True(a.allclose(b, rtol: 0, atol: 0));
    }
}
